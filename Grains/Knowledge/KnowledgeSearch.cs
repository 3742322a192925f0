using Microsoft.Extensions.Logging;
using Npgsql;

namespace CustomerGrains.Grains.Knowledge;

/// <summary>
/// Finds a tenant's entries for a question. Matching needs no model: the question's stemmed terms (English, Russian,
/// unstemmed) are OR-ed against each entry's weighted search vector, and trigram similarity with the entry's question
/// (and its aliases) catches typos; the score mixes both. A Ukrainian word's other forms count as itself, its synonyms
/// (the thesauri's and those the tenant's aliases taught) half of it, and its translations (<see cref="LexiconLoading"/>;
/// Ukrainian-Russian cognates, Sql/018) find entries in another language, below a same-language match of equal
/// coverage. Where an encoder is configured, the candidates in the languages it reads are reranked by the cosine of
/// their embeddings.
/// </summary>
internal sealed class KnowledgeSearch(
    NpgsqlDataSource database, string tenantId, KnowledgeOptions options, Inference.InferenceOptions inference, IGrainFactory grains, TimeProvider time, ILogger logger)
{
    /// <summary>How long a search waits for embeddings before it keeps the lexical order.</summary>
    private static readonly TimeSpan EmbeddingTimeout = TimeSpan.FromSeconds(1);

    public async Task<IReadOnlyList<KbMatch>> SearchAsync(string text, int limit)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return [];
        }

        // Query terms come from the stemming configurations only, which drop stop words ("how", "do", "как"): a shared
        // "how do I" is no evidence. A match needs close overall similarity (typos) or shared content words (forms).
        await using var command = database.CreateCommand(
            """
            WITH word_terms AS (
                -- Each content word and its own stems (Sql/016: the words neither stemmer drops, stemmed by both).
                SELECT word, lexeme FROM kb_content_words($2)),
            terms AS (
                SELECT DISTINCT lexeme FROM word_terms),
            -- Each content word's other forms, which count as the word itself: a verb's other aspect and its action noun
            -- (kb_verb_families; of the question's language where its letters tell it, $6: "Скасування замовлення" is
            -- Ukrainian in all but its letters), and a Ukrainian question's ($5) word's other forms (kb_forms), which the
            -- Russian stemmer does not make one stem of: a Russian word whose stem a Ukrainian form shares ("оплатить",
            -- "оплату") is no form of that Ukrainian word ("оплачений").
            relatives AS (
                SELECT w.word, v.relative AS lexeme FROM word_terms w, LATERAL (
                    SELECT relative FROM kb_verb_families WHERE lexeme = w.lexeme AND ($6::text IS NULL OR language = $6) OFFSET 0) v),
            forms AS (
                SELECT w.word, f.form AS lexeme FROM word_terms w, LATERAL (SELECT form FROM kb_forms WHERE $5 = 'uk' AND lexeme = w.lexeme OFFSET 0) f
                UNION ALL
                SELECT word, lexeme FROM relatives),
            -- Each content word's translations through the bilingual lexicons (empty without the dictionaries): English
            -- and Russian stems both ways (kb_lexicon), Ukrainian and Russian ones both ways (kb_lexicon_uk), and English
            -- and Ukrainian through Russian; and its cognate stems ("≈", Sql/018: "трафіку" and "трафика" alike), its
            -- English translations as the Russian word it spells, and an English word's Russian translations as cognates
            -- (which Ukrainian entries carry); of each of its stems and their relatives (a perfective verb takes its
            -- imperfective's translations: Mueller's dictionary gives verbs in the imperfective; an action noun its
            -- verb's), Russian's between Ukrainian and English too (скасувати: отменить, отменять: cancel). A Ukrainian
            -- word's other forms need none: kb_lexicon_uk has each form's. A lateral subquery per stem (OFFSET 0
            -- keeps it one): index lookups, where a join would hash the whole lexicon for the handful of stems a question has.
            translations AS (
                SELECT w.word, l.lexeme FROM (SELECT word, lexeme FROM word_terms UNION SELECT word, lexeme FROM relatives) w, LATERAL (
                    SELECT russian AS lexeme FROM kb_lexicon WHERE english = w.lexeme
                    UNION
                    SELECT '≈' || russian FROM kb_lexicon WHERE english = w.lexeme
                    UNION
                    SELECT '≈' || c FROM unnest(tsvector_to_array(to_tsvector('russian', kb_cognate(w.word)))) c WHERE c ~ '[а-я]'
                    UNION
                    SELECT english FROM kb_lexicon WHERE russian IN (SELECT unnest(tsvector_to_array(to_tsvector('russian', kb_cognate(w.word)))))
                    UNION
                    SELECT english FROM kb_lexicon WHERE russian = w.lexeme
                    UNION
                    SELECT russian FROM kb_lexicon_uk WHERE ukrainian = w.lexeme
                    UNION
                    SELECT ukrainian FROM kb_lexicon_uk WHERE russian = w.lexeme
                    UNION
                    SELECT x.english FROM kb_lexicon_uk u JOIN kb_lexicon x ON x.russian = u.russian WHERE u.ukrainian = w.lexeme
                    UNION
                    SELECT x.english FROM kb_lexicon_uk u JOIN kb_verb_families v ON v.language = 'ru' AND v.lexeme = u.russian JOIN kb_lexicon x ON x.russian = v.relative WHERE u.ukrainian = w.lexeme
                    UNION
                    SELECT u.ukrainian FROM kb_lexicon x JOIN kb_lexicon_uk u ON u.russian = x.russian WHERE x.english = w.lexeme
                    UNION
                    SELECT u.ukrainian FROM kb_lexicon x JOIN kb_verb_families v ON v.language = 'ru' AND v.lexeme = x.russian JOIN kb_lexicon_uk u ON u.russian = v.relative WHERE x.english = w.lexeme OFFSET 0) l),
            -- And the translations' relatives: an English verb's Russian imperfective meets an entry's perfective.
            translated AS (
                SELECT word, lexeme FROM translations
                UNION
                SELECT t.word, v.relative FROM translations t, LATERAL (SELECT relative FROM kb_verb_families WHERE language = 'ru' AND lexeme = t.lexeme OFFSET 0) v),
            -- Each content word's synonyms: in its language (kb_synonyms, from the thesauri; empty without them), and
            -- those this tenant's aliases taught (kb_learned_synonyms).
            alike AS (
                SELECT w.word, s.lexeme FROM word_terms w, LATERAL (
                    SELECT synonym AS lexeme FROM kb_synonyms WHERE lexeme = w.lexeme
                    UNION
                    SELECT synonym FROM kb_learned_synonyms WHERE tenant_id = $1 AND lexeme = w.lexeme OFFSET 0) s),
            -- What each content word may meet in an entry: its own stems and forms (0), its synonyms (1), its
            -- translations (2); stem marks the question's own stems (terms).
            meanings AS (
                SELECT word, lexeme, 0 AS kind, true AS stem FROM word_terms
                UNION ALL SELECT word, lexeme, 0, false FROM forms
                UNION ALL SELECT word, lexeme, 1, false FROM alike
                UNION ALL SELECT word, lexeme, 2, false FROM translated),
            -- Materialized: inlined, each tsquery would be parsed again for every phrasing it is matched against.
            q AS MATERIALIZED (
                SELECT lower($2) AS text, (SELECT string_agg(quote_literal(lexeme), ' | ') FROM terms)::tsquery AS ts,
                       (SELECT count(*) FROM terms)::float8 AS terms,
                       (SELECT string_agg(DISTINCT quote_literal(lexeme), ' | ') FROM translated)::tsquery AS xts,
                       (SELECT string_agg(DISTINCT quote_literal(lexeme), ' | ') FROM (SELECT lexeme FROM alike UNION SELECT lexeme FROM forms) n)::tsquery AS sts,
                       (SELECT count(DISTINCT word) FROM word_terms)::float8 AS words),
            -- An entry is matched by its question and by each of its aliases (other wordings askers used), and scores as
            -- its best-matching one.
            phrasings AS (
                SELECT e.entry_id, lower(e.question) AS text, e.search FROM kb_entries e WHERE e.tenant_id = $1
                UNION ALL
                SELECT a.entry_id, lower(a.alias), a.search || e.search
                FROM kb_aliases a JOIN kb_entries e ON e.tenant_id = a.tenant_id AND e.entry_id = a.entry_id
                WHERE a.tenant_id = $1),
            scored AS (
                SELECT p.entry_id,
                       similarity(p.text, q.text) AS whole,
                       word_similarity(q.text, p.text) AS words,
                       -- The share of the question's content words the entry has (in its question, alias or answer): one
                       -- shared word out of six is weak evidence, all of them strong.
                       CASE WHEN q.terms = 0 THEN 0
                            ELSE m.stems / q.terms END AS coverage,
                       -- The share of its content words the entry has, a word it has only a synonym of counting half:
                       -- half of (words it has) + half of (words it has, or has a synonym of).
                       0.5 * (m.own + m.near) / greatest(q.words, 1) AS softly,
                       -- The share of the question's content words one of whose translations the entry's question (or
                       -- alias) has, a word translated only in its answer counting half: a translated question is the
                       -- entry's question asked in another language, and its answer's words are weaker evidence.
                       0.5 * (m.asked + m.translated) / greatest(q.words, 1) AS across
                FROM phrasings p, q,
                     -- The entry's lexemes met by the question's meanings, once.
                     LATERAL (SELECT count(DISTINCT n.lexeme) FILTER (WHERE n.stem) AS stems,
                                     count(DISTINCT n.word) FILTER (WHERE n.kind = 0) AS own, count(DISTINCT n.word) FILTER (WHERE n.kind <= 1) AS near,
                                     count(DISTINCT n.word) FILTER (WHERE n.kind = 2 AND 'A' = ANY (x.weights)) AS asked,
                                     count(DISTINCT n.word) FILTER (WHERE n.kind = 2) AS translated
                              FROM unnest(p.search) x JOIN meanings n ON n.lexeme = x.lexeme) m
                WHERE (q.ts IS NOT NULL AND p.search @@ q.ts) OR p.text % q.text OR q.text <% p.text
                      OR (q.xts IS NOT NULL AND p.search @@ q.xts) OR (q.sts IS NOT NULL AND p.search @@ q.sts)),
            -- A match across languages scores 0.7 of the share of words it translates (chosen on the telecom set against
            -- 0.5 and 0.9): below a same-language match of equal coverage, which also shares letters.
            best AS (
                SELECT entry_id, max(greatest(whole, 0.5 * words + 0.5 * greatest(coverage, softly), 0.7 * across)) AS score FROM scored GROUP BY entry_id)
            SELECT e.entry_id, e.question, e.answer, e.language, b.score, CASE WHEN e.embedding_model = $4 THEN e.embedding END
            FROM best b JOIN kb_entries e ON e.tenant_id = $1 AND e.entry_id = b.entry_id
            ORDER BY b.score DESC, e.entry_id LIMIT $3
            """);
        // An encoder scores only the languages it was trained on: other queries keep the lexical order.
        var language = TextLanguage.Detect(text);
        var model = options.EmbeddingModel is { Length: > 0 } configured
                    && (!inference.Models.TryGetValue(configured, out var encoder) || encoder.Covers(language))
            ? configured
            : null;
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(text.Length <= KnowledgeStore.MaxQuestionLength ? text : text[..KnowledgeStore.MaxQuestionLength]);
        command.Parameters.AddWithValue(model is null ? limit : Math.Max(limit * 3, 20)); // reranking needs candidates to reorder
        command.Parameters.AddWithValue(NpgsqlTypes.NpgsqlDbType.Text, (object?)model ?? DBNull.Value);
        command.Parameters.AddWithValue(language);
        command.Parameters.AddWithValue(NpgsqlTypes.NpgsqlDbType.Text, (object?)TextLanguage.Certain(text) ?? DBNull.Value);
        var candidates = new List<(KbMatch Match, float[]? Embedding)>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                var match = Match(reader, Math.Round(reader.GetDouble(4), 4));
                candidates.Add((match, reader.IsDBNull(5) ? null : reader.GetFieldValue<float[]>(5)));
            }
        }

        if (model is null)
        {
            return candidates.Take(limit).Select(c => c.Match).ToList();
        }

        try
        {
            return (await RerankAsync(text, model, candidates, limit)).Take(limit).ToList();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The model is absent, failing or slow: the lexical order is still an answer.
            Log.RerankFailed(logger, tenantId, model, ex);
            return candidates.Take(limit).Select(c => c.Match).ToList();
        }
    }

    /// <summary>How many entries no encoder has looked at yet a search embeds beside its question: a knowledge base is
    /// embedded a batch per search until every entry is.</summary>
    private const int EmbedPerSearch = 16;

    /// <summary>The tenant's embeddings from <see cref="_vectorsModel"/> by entry (<see cref="NearestAsync"/>); null until
    /// first needed. The grain's turns never run at once, so no lock.</summary>
    private Dictionary<string, float[]>? _vectors;

    private string? _vectorsModel;

    /// <summary>
    /// Scores candidates by (1 - w) x lexical + w x cosine of the question's and the entry's embeddings, and adds the
    /// entries whose embeddings are nearest the question's (as many as the search returns, at least five; lexical 0): a
    /// paraphrase that shares no word with its entry ("I want to end my subscription with you", "How do I cancel my
    /// contract?") is no lexical candidate. Embeds (and stores) in the same call as the question the candidates without
    /// an embedding from this model and a batch of the entries it has not looked at yet; an entry in a language the
    /// encoder does not read (a Russian one for an English question, found through a translation) gets none, is marked
    /// looked at (the model's name, no embedding), and keeps its lexical score: its cosine would be noise.
    /// </summary>
    private async Task<IEnumerable<KbMatch>> RerankAsync(string text, string model, List<(KbMatch Match, float[]? Embedding)> candidates, int limit)
    {
        var encoder = inference.Models.GetValueOrDefault(model);
        bool Reads(KbMatch match) => encoder is null || encoder.Covers(LanguageOf(match));
        var unseen = await UnseenAsync(model, candidates.Select(c => c.Match.EntryId).ToArray());
        var missing = candidates.Where(c => c.Embedding is null && Reads(c.Match)).Select(c => c.Match).Concat(unseen.Where(Reads)).ToList();
        var vectors = await grains.GetGrain<IInferenceGrain>(model)
            .EmbedAsync([text, .. missing.Select(m => $"{m.Question}\n{m.Answer}")])
            .WaitAsync(EmbeddingTimeout, time);
        var computed = missing.Select((m, i) => (m.EntryId, Vector: vectors[i + 1])).ToDictionary(x => x.EntryId, x => x.Vector);
        var unread = unseen.Where(m => !Reads(m)).Select(m => m.EntryId).ToList();
        if (computed.Count + unread.Count > 0)
        {
            await using var batch = database.CreateBatch();
            foreach (var (entryId, vector) in computed.Select(c => (c.Key, (float[]?)c.Value)).Concat(unread.Select(id => (id, (float[]?)null))))
            {
                var update = new NpgsqlBatchCommand("UPDATE kb_entries SET embedding = $3, embedding_model = $4 WHERE tenant_id = $1 AND entry_id = $2");
                update.Parameters.AddWithValue(tenantId);
                update.Parameters.AddWithValue(entryId);
                update.Parameters.AddWithValue(NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Real, (object?)vector ?? DBNull.Value);
                update.Parameters.AddWithValue(model);
                batch.BatchCommands.Add(update);
            }

            await batch.ExecuteNonQueryAsync();
            if (_vectorsModel == model)
            {
                foreach (var (entryId, vector) in computed)
                {
                    _vectors![entryId] = vector;
                }
            }
        }

        var question = vectors[0];
        var nearest = await NearestAsync(model, question, candidates.Select(c => c.Match.EntryId).ToArray(), Math.Max(limit, 5));
        var weight = options.EmbeddingWeight;
        return candidates.Concat(nearest)
            .Select(c =>
            {
                if (!Reads(c.Match))
                {
                    return c.Match with { Lexical = c.Match.Score };
                }

                var entry = c.Embedding ?? computed[c.Match.EntryId];
                var cosine = entry.Length == question.Length ? System.Numerics.Tensors.TensorPrimitives.Dot(question, entry) : 0f;
                var score = (1 - weight) * c.Match.Score + weight * Math.Max(0, cosine);
                return c.Match with { Score = Math.Round(score, 4), Lexical = c.Match.Score, Semantic = Math.Round(cosine, 4) };
            })
            .OrderByDescending(m => m.Score)
            .ThenBy(m => m.EntryId, StringComparer.Ordinal);
    }

    /// <summary>A batch of the tenant's entries that <paramref name="model"/> has not looked at (none once all are).</summary>
    private async Task<List<KbMatch>> UnseenAsync(string model, string[] candidates)
    {
        await using var command = database.CreateCommand(
            """
            SELECT entry_id, question, answer, language FROM kb_entries
            WHERE tenant_id = $1 AND embedding_model IS DISTINCT FROM $2 AND entry_id <> ALL ($3)
            ORDER BY entry_id LIMIT $4
            """);
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(model);
        command.Parameters.AddWithValue(candidates);
        command.Parameters.AddWithValue(EmbedPerSearch);
        var unseen = new List<KbMatch>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            unseen.Add(Match(reader, 0));
        }

        return unseen;
    }

    /// <summary>
    /// The <paramref name="count"/> entries whose embeddings from <paramref name="model"/> are nearest
    /// <paramref name="question"/> (the encoder's embeddings are normalized: the dot product is the cosine), other than
    /// <paramref name="exclude"/>, as candidates of lexical score 0. The tenant's embeddings are kept in memory (1.5 KB an
    /// entry for 384 dimensions; read once per activation, added to as entries are embedded): a scan of them in
    /// PostgreSQL, which has no vector type of its own, took 120 ms for 2,000 entries, here it takes well under one. The
    /// nearest are then read back: an entry deleted, or edited (its embedding cleared), since it was kept is dropped.
    /// </summary>
    private async Task<List<(KbMatch Match, float[]? Embedding)>> NearestAsync(string model, float[] question, string[] exclude, int count)
    {
        if (_vectors is null || _vectorsModel != model)
        {
            await using var all = database.CreateCommand(
                "SELECT entry_id, embedding FROM kb_entries WHERE tenant_id = $1 AND embedding_model = $2 AND embedding IS NOT NULL");
            all.Parameters.AddWithValue(tenantId);
            all.Parameters.AddWithValue(model);
            var vectors = new Dictionary<string, float[]>(StringComparer.Ordinal);
            await using (var reader = await all.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    vectors[reader.GetString(0)] = reader.GetFieldValue<float[]>(1);
                }
            }

            (_vectors, _vectorsModel) = (vectors, model);
        }

        var excluded = exclude.ToHashSet(StringComparer.Ordinal);
        var ids = _vectors
            .Where(v => !excluded.Contains(v.Key) && v.Value.Length == question.Length)
            .Select(v => (EntryId: v.Key, Cosine: System.Numerics.Tensors.TensorPrimitives.Dot(question, v.Value)))
            .OrderByDescending(v => v.Cosine).ThenBy(v => v.EntryId, StringComparer.Ordinal)
            .Take(count).Select(v => v.EntryId).ToArray();
        if (ids.Length == 0)
        {
            return [];
        }

        await using var command = database.CreateCommand(
            """
            SELECT entry_id, question, answer, language, embedding FROM kb_entries
            WHERE tenant_id = $1 AND entry_id = ANY ($2) AND embedding_model = $3 AND embedding IS NOT NULL
            """);
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(ids);
        command.Parameters.AddWithValue(model);
        var nearest = new List<(KbMatch, float[]?)>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                var embedding = reader.GetFieldValue<float[]>(4);
                nearest.Add((Match(reader, 0), embedding));
                _vectors[reader.GetString(0)] = embedding;
            }
        }

        foreach (var gone in ids.Except(nearest.Select(n => n.Item1.EntryId), StringComparer.Ordinal))
        {
            _vectors.Remove(gone);
        }

        return nearest;
    }

    /// <summary>
    /// A list an asker picks from, <paramref name="count"/> long when the knowledge base holds that many: the entries
    /// matched by words, and the entries whose letters are nearest the question's (Cyrillic read in Latin letters,
    /// Sql/008_kb_letters.sql; over the question and the answer), the best by score. Letters find the same topic
    /// asked in other words or in another language often enough to be worth offering; they never answer. Such an entry
    /// scores half its letter similarity (weaker evidence than words) and has no Lexical part. It reads every entry of
    /// the tenant (trigram indexes cannot order by similarity without a threshold), which is cheap at a knowledge
    /// base's size, and only an ask pays it: suggestions search by words alone.
    /// </summary>
    public async Task<IReadOnlyList<KbMatch>> FillAsync(string text, List<KbMatch> listed, string[] exclude, int count)
    {
        await using var command = database.CreateCommand(
            """
            SELECT e.entry_id, e.question, e.answer, e.language,
                   greatest(similarity(e.latin_question, l.text), word_similarity(l.text, e.latin_text))
            FROM kb_entries e, (SELECT kb_latin($2) AS text) l
            WHERE e.tenant_id = $1 AND e.entry_id <> ALL ($3)
            ORDER BY 5 DESC, e.entry_id LIMIT $4
            """);
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(text);
        command.Parameters.AddWithValue(listed.Select(m => m.EntryId).Concat(exclude).ToArray());
        command.Parameters.AddWithValue(count);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var letters = reader.GetFloat(4);
            listed.Add(Match(reader, Math.Round(0.5 * letters, 4)));
        }

        return listed.OrderByDescending(m => m.Score).Take(count).ToList();
    }

    /// <summary>An entry's language: as stored, or told from its question.</summary>
    internal static string LanguageOf(KbMatch match) => match.Language ?? TextLanguage.Detect(match.Question);

    /// <summary>A match of <paramref name="score"/> from a row of entry_id, question, answer, language.</summary>
    private static KbMatch Match(NpgsqlDataReader reader, double score) =>
        new(reader.GetString(0), reader.GetString(1), reader.GetString(2), score, reader.IsDBNull(3) ? null : reader.GetString(3));
}
