using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace CustomerGrains.Grains;

/// <summary>
/// One tenant's knowledge base over <c>kb_entries</c> and <c>kb_questions</c>. Matching needs no model: the question's
/// stemmed terms (English, Russian, unstemmed) are OR-ed against each entry's weighted search vector, and trigram
/// similarity with the entry's question catches typos; the score mixes both.
/// </summary>
[GrainType("knowledgebase")]
public sealed partial class KnowledgeBaseGrain(
    NpgsqlDataSource database, IOptions<KnowledgeOptions> options, IOptions<Inference.InferenceOptions> inference, TimeProvider time, ILogger<KnowledgeBaseGrain> logger) : Grain, IKnowledgeBaseGrain
{
    public const int MaxQuestionLength = 2_000;

    /// <summary>How long a search waits for embeddings before it keeps the lexical order.</summary>
    private static readonly TimeSpan EmbeddingTimeout = TimeSpan.FromSeconds(1);
    public const int MaxAnswerLength = 20_000;
    private readonly KnowledgeOptions _options = options.Value;

    private string TenantId => this.GetPrimaryKeyString();

    public async Task<KbEntry> AddEntryAsync(KbEntryInput input, string source, string author)
    {
        var (question, answer) = Validate(input);
        var aliases = ValidateAliases(input.Aliases);
        var entryId = NewId("kb");
        await using var connection = await database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var command = new NpgsqlCommand("INSERT INTO kb_entries (tenant_id, entry_id, question, answer, tags, language, source, author) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", connection, transaction))
        {
            AddEntryParameters(command, entryId, question, answer, input, source, author);
            await command.ExecuteNonQueryAsync();
        }

        await AddAliasesAsync(connection, transaction, entryId, aliases, replace: false);
        var entry = await ReadEntryAsync(entryId, transaction);
        await transaction.CommitAsync();
        return entry!;
    }

    public Task<KbEntry?> GetEntryAsync(string entryId) => ReadEntryAsync(entryId);

    public async Task<KbEntry?> UpdateEntryAsync(string entryId, KbEntryInput input)
    {
        var (question, answer) = Validate(input);
        var aliases = input.Aliases is null ? null : ValidateAliases(input.Aliases);
        await using var connection = await database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var command = new NpgsqlCommand(
            """
            UPDATE kb_entries SET question = $3, answer = $4, tags = $5, language = $6, embedding = NULL, embedding_model = NULL, updated_at = now()
            WHERE tenant_id = $1 AND entry_id = $2
            """, connection, transaction))
        {
            command.Parameters.AddWithValue(TenantId);
            command.Parameters.AddWithValue(entryId);
            command.Parameters.AddWithValue(question);
            command.Parameters.AddWithValue(answer);
            command.Parameters.AddWithValue((input.Tags ?? []).ToArray());
            command.Parameters.AddWithValue((object?)input.Language ?? DBNull.Value);
            if (await command.ExecuteNonQueryAsync() == 0)
            {
                return null;
            }
        }

        if (aliases is not null)
        {
            await AddAliasesAsync(connection, transaction, entryId, aliases, replace: true);
        }

        var entry = await ReadEntryAsync(entryId, transaction);
        await transaction.CommitAsync();
        return entry;
    }

    public async Task<bool> DeleteEntryAsync(string entryId)
    {
        await using var command = database.CreateCommand("DELETE FROM kb_entries WHERE tenant_id = $1 AND entry_id = $2");
        command.Parameters.AddWithValue(TenantId);
        command.Parameters.AddWithValue(entryId);
        return await command.ExecuteNonQueryAsync() == 1;
    }

    public async Task<int> ImportAsync(IReadOnlyList<KbEntryInput> entries, string author)
    {
        var valid = entries.Select((e, i) =>
        {
            try
            {
                return (Input: e, Fields: Validate(e));
            }
            catch (ArgumentException ex)
            {
                throw new ArgumentException($"Entry {i}: {ex.Message}");
            }
        }).ToList();
        await using var connection = await database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using var batch = new NpgsqlBatch(connection, transaction);
        var inserts = new List<NpgsqlBatchCommand>(valid.Count);
        foreach (var (input, (question, answer)) in valid)
        {
            // Importing the same file again adds nothing: an entry with the same question and answer is there already.
            var insert = new NpgsqlBatchCommand(
                """
                INSERT INTO kb_entries (tenant_id, entry_id, question, answer, tags, language, source, author)
                SELECT $1, $2, $3, $4, $5, $6, $7, $8
                WHERE NOT EXISTS (SELECT 1 FROM kb_entries WHERE tenant_id = $1 AND question = $3 AND answer = $4)
                """);
            AddEntryParameters(insert, NewId("kb"), question, answer, input, "article", author);
            batch.BatchCommands.Add(insert);
            inserts.Add(insert);
            if (ValidateAliases(input.Aliases) is { Count: > 0 } aliases)
            {
                // The aliases join the entry with this question and answer, the one just added or the one already there.
                var alias = new NpgsqlBatchCommand(
                    """
                    INSERT INTO kb_aliases (tenant_id, entry_id, alias, normalized)
                    SELECT $1, e.entry_id, a.alias, a.normalized FROM kb_entries e, unnest($4::text[], $5::text[]) AS a(alias, normalized)
                    WHERE e.tenant_id = $1 AND e.question = $2 AND e.answer = $3
                    ON CONFLICT DO NOTHING
                    """);
                alias.Parameters.AddWithValue(TenantId);
                alias.Parameters.AddWithValue(question);
                alias.Parameters.AddWithValue(answer);
                alias.Parameters.AddWithValue(aliases.Select(a => a.Alias).ToArray());
                alias.Parameters.AddWithValue(aliases.Select(a => a.Normalized).ToArray());
                batch.BatchCommands.Add(alias);
            }
        }

        var added = 0;
        if (valid.Count > 0)
        {
            await batch.ExecuteNonQueryAsync();
            foreach (var command in inserts)
            {
                added += command.RecordsAffected;
            }
        }

        await transaction.CommitAsync();
        return added;
    }

    public async Task<IReadOnlyList<KbEntry>> ExportAsync()
    {
        await using var command = database.CreateCommand($"SELECT {EntryColumns} FROM kb_entries WHERE tenant_id = $1 ORDER BY created_at, entry_id");
        command.Parameters.AddWithValue(TenantId);
        return await ReadEntriesAsync(command);
    }

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
            WITH words AS (
                SELECT DISTINCT lower(token) AS word FROM ts_debug('simple', $2) WHERE alias NOT IN ('blank', 'space')),
            content AS (
                -- Each stemmer keeps the other language's stop words ("как" in English, "how" in Russian): a word
                -- counts only when neither drops it.
                SELECT word FROM words WHERE length(to_tsvector('english', word)) > 0 AND length(to_tsvector('russian', word)) > 0),
            terms AS (
                SELECT DISTINCT unnest(tsvector_to_array(to_tsvector('english', word) || to_tsvector('russian', word))) AS lexeme FROM content),
            q AS (
                SELECT lower($2) AS text, (SELECT string_agg(quote_literal(lexeme), ' | ') FROM terms)::tsquery AS ts,
                       (SELECT count(*) FROM terms)::float8 AS terms),
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
                            ELSE (SELECT count(*) FROM terms t WHERE t.lexeme = ANY (tsvector_to_array(p.search))) / q.terms END AS coverage
                FROM phrasings p, q
                WHERE (q.ts IS NOT NULL AND p.search @@ q.ts) OR p.text % q.text OR q.text <% p.text),
            best AS (
                SELECT entry_id, max(greatest(whole, 0.5 * words + 0.5 * coverage)) AS score FROM scored GROUP BY entry_id)
            SELECT e.entry_id, e.question, e.answer, b.score, e.language, CASE WHEN e.embedding_model = $4 THEN e.embedding END
            FROM best b JOIN kb_entries e ON e.tenant_id = $1 AND e.entry_id = b.entry_id
            ORDER BY b.score DESC, e.entry_id LIMIT $3
            """);
        // An encoder scores only the languages it was trained on: other queries keep the lexical order.
        var model = _options.EmbeddingModel is { Length: > 0 } configured
                    && (!inference.Value.Models.TryGetValue(configured, out var encoder) || encoder.Covers(TextLanguage.Detect(text)))
            ? configured
            : null;
        command.Parameters.AddWithValue(TenantId);
        command.Parameters.AddWithValue(text.Length <= MaxQuestionLength ? text : text[..MaxQuestionLength]);
        command.Parameters.AddWithValue(model is null ? limit : Math.Max(limit * 3, 20)); // reranking needs candidates to reorder
        command.Parameters.AddWithValue(NpgsqlTypes.NpgsqlDbType.Text, (object?)model ?? DBNull.Value);
        var candidates = new List<(KbMatch Match, float[]? Embedding)>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                var match = new KbMatch(reader.GetString(0), reader.GetString(1), reader.GetString(2), Math.Round(reader.GetDouble(3), 4), reader.IsDBNull(4) ? null : reader.GetString(4));
                candidates.Add((match, reader.IsDBNull(5) ? null : reader.GetFieldValue<float[]>(5)));
            }
        }

        if (model is null || candidates.Count == 0)
        {
            return candidates.Take(limit).Select(c => c.Match).ToList();
        }

        try
        {
            return (await RerankAsync(text, model, candidates)).Take(limit).ToList();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The model is absent, failing or slow: the lexical order is still an answer.
            Log.RerankFailed(logger, TenantId, model, ex);
            return candidates.Take(limit).Select(c => c.Match).ToList();
        }
    }

    /// <summary>Scores candidates by (1 - w) x lexical + w x cosine of the question's and the entry's embeddings,
    /// embedding (and storing) entries that have none from this model yet in the same call as the question.</summary>
    private async Task<IEnumerable<KbMatch>> RerankAsync(string text, string model, List<(KbMatch Match, float[]? Embedding)> candidates)
    {
        var missing = candidates.Where(c => c.Embedding is null).Select(c => c.Match).ToList();
        var vectors = await GrainFactory.GetGrain<IInferenceGrain>(model)
            .EmbedAsync([text, .. missing.Select(m => $"{m.Question}\n{m.Answer}")])
            .WaitAsync(EmbeddingTimeout, time);
        var computed = missing.Select((m, i) => (m.EntryId, Vector: vectors[i + 1])).ToDictionary(x => x.EntryId, x => x.Vector);
        if (computed.Count > 0)
        {
            await using var batch = database.CreateBatch();
            foreach (var (entryId, vector) in computed)
            {
                var update = new NpgsqlBatchCommand("UPDATE kb_entries SET embedding = $3, embedding_model = $4 WHERE tenant_id = $1 AND entry_id = $2");
                update.Parameters.AddWithValue(TenantId);
                update.Parameters.AddWithValue(entryId);
                update.Parameters.AddWithValue(vector);
                update.Parameters.AddWithValue(model);
                batch.BatchCommands.Add(update);
            }

            await batch.ExecuteNonQueryAsync();
        }

        var question = vectors[0];
        var weight = _options.EmbeddingWeight;
        return candidates
            .Select(c =>
            {
                var entry = c.Embedding ?? computed[c.Match.EntryId];
                var cosine = entry.Length == question.Length ? System.Numerics.Tensors.TensorPrimitives.Dot(question, entry) : 0f;
                var score = (1 - weight) * c.Match.Score + weight * Math.Max(0, cosine);
                return c.Match with { Score = Math.Round(score, 4), Lexical = c.Match.Score, Semantic = Math.Round(cosine, 4) };
            })
            .OrderByDescending(m => m.Score)
            .ThenBy(m => m.EntryId, StringComparer.Ordinal);
    }

    public async Task<AskResult> AskAsync(string question, string askedBy)
    {
        var text = ValidateQuestion(question);
        var hits = await SearchAsync(text, 8);
        var match = hits.Count > 0 && hits[0].Score >= _options.ConfidentScore ? hits[0] : null;
        GrainTelemetry.KnowledgeAnswers.Add(1, new KeyValuePair<string, object?>("answered", match is not null));

        // The same question asked again counts on its record; often enough, it becomes a FAQ.
        await using var command = database.CreateCommand(
            """
            INSERT INTO kb_questions (tenant_id, question_id, question, normalized, asked_by, askers, status, entry_id)
            VALUES ($1, $2, $3, $4, $5, ARRAY[$5], CASE WHEN $6::text IS NULL THEN 'Unanswered' ELSE 'AddedToKb' END, $6)
            ON CONFLICT (tenant_id, normalized) DO UPDATE SET
                times_asked = kb_questions.times_asked + 1,
                askers = CASE WHEN $5 = ANY(kb_questions.askers) THEN kb_questions.askers ELSE kb_questions.askers || $5 END,
                entry_id = coalesce(kb_questions.entry_id, EXCLUDED.entry_id),
                status = CASE
                    WHEN kb_questions.times_asked + 1 >= $7 AND coalesce(kb_questions.entry_id, EXCLUDED.entry_id) IS NOT NULL THEN 'Faq'
                    WHEN kb_questions.status = 'Unanswered' AND EXCLUDED.entry_id IS NOT NULL THEN 'AddedToKb'
                    ELSE kb_questions.status END,
                updated_at = now()
            RETURNING question_id
            """);
        command.Parameters.AddWithValue(TenantId);
        command.Parameters.AddWithValue(NewId("q"));
        command.Parameters.AddWithValue(text);
        command.Parameters.AddWithValue(Normalize(text));
        command.Parameters.AddWithValue(askedBy);
        command.Parameters.AddWithValue((object?)match?.EntryId ?? DBNull.Value);
        command.Parameters.AddWithValue(_options.FaqThreshold);
        var questionId = (string)(await command.ExecuteScalarAsync())!;
        if (match is not null)
        {
            await using var counted = database.CreateCommand("UPDATE kb_entries SET times_asked = times_asked + 1 WHERE tenant_id = $1 AND entry_id = $2");
            counted.Parameters.AddWithValue(TenantId);
            counted.Parameters.AddWithValue(match.EntryId);
            await counted.ExecuteNonQueryAsync();
        }

        AskResult result;
        if (match is null)
        {
            result = new AskResult(questionId, null, [], await FillAsync(text, hits.Take(5).ToList(), [], 5));
        }
        else
        {
            // "You may also want": entries related to the answer found, then to the question as asked.
            var related = (await SearchAsync(match.Question, 4)).Concat(hits)
                .Where(h => h.EntryId != match.EntryId).DistinctBy(h => h.EntryId).Take(3).ToList();
            result = new AskResult(questionId, match, await FillAsync(text, related, [match.EntryId], 3), []);
        }

        // What the asker was shown is what they may pick.
        await using var offered = database.CreateCommand(
            "UPDATE kb_questions SET offered = ARRAY(SELECT DISTINCT unnest(offered || $3)) WHERE tenant_id = $1 AND question_id = $2 AND NOT offered @> $3");
        offered.Parameters.AddWithValue(TenantId);
        offered.Parameters.AddWithValue(questionId);
        offered.Parameters.AddWithValue(result.Related.Concat(result.Similar).Select(m => m.EntryId).Append(match?.EntryId).OfType<string>().ToArray());
        await offered.ExecuteNonQueryAsync();
        return result;
    }

    /// <summary>Throws unless <paramref name="by"/> asked the question or is <paramref name="privileged"/> (a senior);
    /// returns the entries its asks offered.</summary>
    private async Task<string[]> OfferedToAsync(string questionId, string by, bool privileged, string action)
    {
        await using var command = database.CreateCommand("SELECT askers, offered FROM kb_questions WHERE tenant_id = $1 AND question_id = $2");
        command.Parameters.AddWithValue(TenantId);
        command.Parameters.AddWithValue(questionId);
        await using var reader = await command.ExecuteReaderAsync();
        if (!await reader.ReadAsync())
        {
            throw new KeyNotFoundException($"No question '{questionId}'.");
        }

        return privileged || reader.GetFieldValue<string[]>(0).Contains(by, StringComparer.Ordinal)
            ? reader.GetFieldValue<string[]>(1)
            : throw new UnauthorizedAccessException($"Only an agent who asked question {questionId}, or a senior, may {action} it.");
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
    private async Task<IReadOnlyList<KbMatch>> FillAsync(string text, List<KbMatch> listed, string[] exclude, int count)
    {
        await using var command = database.CreateCommand(
            """
            SELECT e.entry_id, e.question, e.answer, e.language,
                   greatest(similarity(kb_latin(e.question), l.text), word_similarity(l.text, kb_latin(e.question || ' ' || e.answer)))
            FROM kb_entries e, (SELECT kb_latin($2) AS text) l
            WHERE e.tenant_id = $1 AND e.entry_id <> ALL ($3)
            ORDER BY 5 DESC, e.entry_id LIMIT $4
            """);
        command.Parameters.AddWithValue(TenantId);
        command.Parameters.AddWithValue(text);
        command.Parameters.AddWithValue(listed.Select(m => m.EntryId).Concat(exclude).ToArray());
        command.Parameters.AddWithValue(count);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var letters = reader.GetFloat(4);
            listed.Add(new KbMatch(reader.GetString(0), reader.GetString(1), reader.GetString(2), Math.Round(0.5 * letters, 4), reader.IsDBNull(3) ? null : reader.GetString(3)));
        }

        return listed.OrderByDescending(m => m.Score).Take(count).ToList();
    }

    public async Task<KbQuestion> EscalateAsync(string questionId, string by, bool privileged)
    {
        await OfferedToAsync(questionId, by, privileged, "escalate");

        // The status change and the notification are one transaction: a senior is told exactly when it happened.
        await using var connection = await database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        KbQuestion question;
        await using (var command = new NpgsqlCommand(
            $"UPDATE kb_questions SET status = 'AwaitingSenior', updated_at = now() WHERE tenant_id = $1 AND question_id = $2 AND status IN ('Unanswered', 'AwaitingSenior') RETURNING {QuestionColumns}",
            connection, transaction))
        {
            command.Parameters.AddWithValue(TenantId);
            command.Parameters.AddWithValue(questionId);
            question = (await ReadQuestionsAsync(command)).SingleOrDefault()
                ?? (await GetQuestionAsync(questionId) is { } existing
                    ? throw new InvalidOperationException($"Question {questionId} is {existing.Status}; only unanswered questions are escalated.")
                    : throw new KeyNotFoundException($"No question '{questionId}'."));
        }

        await using (var notify = new NpgsqlCommand("INSERT INTO kb_notifications (tenant_id, question_id, payload) VALUES ($1, $2, $3::jsonb)", connection, transaction))
        {
            notify.Parameters.AddWithValue(TenantId);
            notify.Parameters.AddWithValue(questionId);
            notify.Parameters.AddWithValue(JsonSerializer.Serialize(new
            {
                type = "question.escalated",
                tenantId = TenantId,
                questionId,
                question = question.Question,
                askedBy = question.AskedBy,
                timesAsked = question.TimesAsked,
                escalatedAt = time.GetUtcNow(),
            }));
            await notify.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
        GrainTelemetry.KnowledgeEscalations.Add(1);
        return question;
    }

    public async Task<KbEntry> PromoteReplyAsync(string suggestionId, KbEntryInput changes, string author)
    {
        await using var connection = await database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        string message, reply;
        await using (var read = new NpgsqlCommand(
            "SELECT outcome, message, coalesce(final_text, text), promoted_entry FROM suggestion_audit WHERE tenant_id = $1 AND suggestion_id = $2 FOR UPDATE",
            connection, transaction))
        {
            read.Parameters.AddWithValue(TenantId);
            read.Parameters.AddWithValue(suggestionId);
            await using var reader = await read.ExecuteReaderAsync();
            if (!await reader.ReadAsync())
            {
                throw new KeyNotFoundException($"No suggestion '{suggestionId}'.");
            }

            var outcome = reader.GetString(0);
            if (!reader.IsDBNull(3))
            {
                throw new InvalidOperationException($"Suggestion {suggestionId} was promoted already, as entry {reader.GetString(3)}.");
            }

            if (outcome is not ("accepted" or "edited"))
            {
                throw new InvalidOperationException($"Suggestion {suggestionId} was {outcome}; only a reply an agent accepted or edited is promoted.");
            }

            (message, reply) = (reader.GetString(1), reader.GetString(2));
        }

        // The reply was written to one customer; as an entry it serves everyone, so their personal data stays out
        // (the stored message is masked already).
        var input = changes with { Question = changes.Question ?? message, Answer = changes.Answer ?? new Suggestions.PiiMasker().Mask(reply) };
        var (question, answer) = Validate(input);
        KbEntry entry;
        await using (var insert = new NpgsqlCommand(
            $"""
            INSERT INTO kb_entries (tenant_id, entry_id, question, answer, tags, language, source, author)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {EntryColumns}
            """, connection, transaction))
        {
            AddEntryParameters(insert, NewId("kb"), question, answer, input, "accepted-reply", author);
            entry = (await ReadEntriesAsync(insert)).Single();
        }

        await using (var mark = new NpgsqlCommand("UPDATE suggestion_audit SET promoted_entry = $3 WHERE tenant_id = $1 AND suggestion_id = $2", connection, transaction))
        {
            mark.Parameters.AddWithValue(TenantId);
            mark.Parameters.AddWithValue(suggestionId);
            mark.Parameters.AddWithValue(entry.EntryId);
            await mark.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
        return entry;
    }

    public async Task<KbQuestion> AnswerAsync(string questionId, string answer, IReadOnlyList<string>? tags, string author, string? question = null)
    {
        var asked = await GetQuestionAsync(questionId) ?? throw new KeyNotFoundException($"No question '{questionId}'.");
        if (asked.Status is "AddedToKb" or "Faq")
        {
            throw new InvalidOperationException($"Question {questionId} is answered already (entry {asked.EntryId}).");
        }

        // The senior's answer joins the knowledge base at once, and the question points at it. Put in the knowledge
        // base's own words, the entry keeps the asker's wording as an alias.
        var rephrased = string.IsNullOrWhiteSpace(question) ? null : question;
        var entry = await AddEntryAsync(new KbEntryInput(rephrased ?? asked.Question, answer, tags, Aliases: rephrased is null ? null : [asked.Question]), "senior-answer", author);
        await using var command = database.CreateCommand(
            $"UPDATE kb_questions SET status = 'AddedToKb', entry_id = $3, updated_at = now() WHERE tenant_id = $1 AND question_id = $2 RETURNING {QuestionColumns}");
        command.Parameters.AddWithValue(TenantId);
        command.Parameters.AddWithValue(questionId);
        command.Parameters.AddWithValue(entry.EntryId);
        return (await ReadQuestionsAsync(command)).Single();
    }

    public async Task<KbQuestion> PickAsync(string questionId, string entryId, string by, bool privileged)
    {
        if (!(await OfferedToAsync(questionId, by, privileged, "pick an answer for")).Contains(entryId, StringComparer.Ordinal))
        {
            throw new ArgumentException($"Entry {entryId} was not offered for question {questionId}: pick one of the entries its ask listed.");
        }

        var asked = await GetQuestionAsync(questionId) ?? throw new KeyNotFoundException($"No question '{questionId}'.");
        if (asked.EntryId is { } answeredBy && answeredBy != entryId)
        {
            throw new InvalidOperationException($"Question {questionId} is answered already (entry {answeredBy}).");
        }

        await using var connection = await database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        if (await ReadEntryAsync(entryId, transaction) is null)
        {
            throw new KeyNotFoundException($"No knowledge-base entry '{entryId}'.");
        }

        // The asker's wording now finds the entry it meant; picked again, nothing changes.
        await AddAliasesAsync(connection, transaction, entryId, ValidateAliases([asked.Question]), replace: false);
        await using (var command = new NpgsqlCommand(
            """
            WITH answered AS (
                UPDATE kb_questions SET status = 'AddedToKb', entry_id = $3, updated_at = now()
                WHERE tenant_id = $1 AND question_id = $2 AND entry_id IS NULL RETURNING 1)
            UPDATE kb_entries SET times_asked = times_asked + 1 WHERE tenant_id = $1 AND entry_id = $3 AND EXISTS (SELECT 1 FROM answered)
            """, connection, transaction))
        {
            command.Parameters.AddWithValue(TenantId);
            command.Parameters.AddWithValue(questionId);
            command.Parameters.AddWithValue(entryId);
            await command.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
        return (await GetQuestionAsync(questionId))!;
    }

    public async Task<KbQuestion?> GetQuestionAsync(string questionId)
    {
        await using var command = database.CreateCommand($"SELECT {QuestionColumns} FROM kb_questions WHERE tenant_id = $1 AND question_id = $2");
        command.Parameters.AddWithValue(TenantId);
        command.Parameters.AddWithValue(questionId);
        return (await ReadQuestionsAsync(command)).SingleOrDefault();
    }

    public async Task<IReadOnlyList<KbQuestion>> ListQuestionsAsync(string? status, string? askedBy = null)
    {
        if (status is not (null or "Unanswered" or "AwaitingSenior" or "AddedToKb" or "Faq"))
        {
            throw new ArgumentException($"Status '{status}' is not one of Unanswered, AwaitingSenior, AddedToKb, Faq.");
        }

        await using var command = database.CreateCommand(
            $"SELECT {QuestionColumns} FROM kb_questions WHERE tenant_id = $1 AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR asked_by = $3) ORDER BY times_asked DESC, created_at LIMIT 500");
        command.Parameters.AddWithValue(TenantId);
        command.Parameters.AddWithValue((object?)status ?? DBNull.Value);
        command.Parameters.AddWithValue(NpgsqlTypes.NpgsqlDbType.Text, (object?)askedBy ?? DBNull.Value);
        return await ReadQuestionsAsync(command);
    }

    private const string EntryColumns =
        "entry_id, question, answer, tags, language, source, author, times_asked, created_at, updated_at, " +
        "(SELECT coalesce(array_agg(a.alias ORDER BY a.created_at, a.alias), '{}') FROM kb_aliases a WHERE a.tenant_id = kb_entries.tenant_id AND a.entry_id = kb_entries.entry_id)";

    private const string QuestionColumns =
        "question_id, question, status, entry_id, (SELECT e.answer FROM kb_entries e WHERE e.tenant_id = kb_questions.tenant_id AND e.entry_id = kb_questions.entry_id), times_asked, asked_by, created_at";

    private void AddEntryParameters(NpgsqlCommand command, string entryId, string question, string answer, KbEntryInput input, string source, string author) =>
        AddEntryParameters(command.Parameters, entryId, question, answer, input, source, author);

    private void AddEntryParameters(NpgsqlBatchCommand command, string entryId, string question, string answer, KbEntryInput input, string source, string author) =>
        AddEntryParameters(command.Parameters, entryId, question, answer, input, source, author);

    private void AddEntryParameters(NpgsqlParameterCollection parameters, string entryId, string question, string answer, KbEntryInput input, string source, string author)
    {
        parameters.AddWithValue(TenantId);
        parameters.AddWithValue(entryId);
        parameters.AddWithValue(question);
        parameters.AddWithValue(answer);
        parameters.AddWithValue((input.Tags ?? []).Select(t => t.Trim()).Where(t => t.Length > 0).Distinct().ToArray());
        parameters.AddWithValue((object?)input.Language ?? DBNull.Value);
        parameters.AddWithValue(source);
        parameters.AddWithValue(author);
    }

    private static async Task<IReadOnlyList<KbEntry>> ReadEntriesAsync(NpgsqlCommand command)
    {
        var entries = new List<KbEntry>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            entries.Add(new KbEntry(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<string[]>(3),
                reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetString(5), reader.IsDBNull(6) ? null : reader.GetString(6),
                reader.GetInt32(7), reader.GetFieldValue<DateTimeOffset>(8), reader.GetFieldValue<DateTimeOffset>(9), reader.GetFieldValue<string[]>(10)));
        }

        return entries;
    }

    /// <summary>One entry, read on its own or inside <paramref name="transaction"/> (seeing what it wrote).</summary>
    private async Task<KbEntry?> ReadEntryAsync(string entryId, NpgsqlTransaction? transaction = null)
    {
        const string sql = $"SELECT {EntryColumns} FROM kb_entries WHERE tenant_id = $1 AND entry_id = $2";
        await using var command = transaction is null ? database.CreateCommand(sql) : new NpgsqlCommand(sql, transaction.Connection, transaction);
        command.Parameters.AddWithValue(TenantId);
        command.Parameters.AddWithValue(entryId);
        return (await ReadEntriesAsync(command)).SingleOrDefault();
    }

    /// <summary>Adds <paramref name="aliases"/> to the entry (those it has are kept once); with <paramref name="replace"/>,
    /// the entry's other aliases go.</summary>
    private async Task AddAliasesAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string entryId, IReadOnlyList<(string Alias, string Normalized)> aliases, bool replace)
    {
        var normalized = aliases.Select(a => a.Normalized).ToArray();
        if (replace)
        {
            await using var delete = new NpgsqlCommand("DELETE FROM kb_aliases WHERE tenant_id = $1 AND entry_id = $2 AND NOT (normalized = ANY ($3))", connection, transaction);
            delete.Parameters.AddWithValue(TenantId);
            delete.Parameters.AddWithValue(entryId);
            delete.Parameters.AddWithValue(normalized);
            await delete.ExecuteNonQueryAsync();
        }

        if (aliases.Count == 0)
        {
            return;
        }

        await using var insert = new NpgsqlCommand(
            "INSERT INTO kb_aliases (tenant_id, entry_id, alias, normalized) SELECT $1, $2, a, n FROM unnest($3::text[], $4::text[]) AS t(a, n) ON CONFLICT DO NOTHING",
            connection, transaction);
        insert.Parameters.AddWithValue(TenantId);
        insert.Parameters.AddWithValue(entryId);
        insert.Parameters.AddWithValue(aliases.Select(a => a.Alias).ToArray());
        insert.Parameters.AddWithValue(normalized);
        await insert.ExecuteNonQueryAsync();
    }

    /// <summary>Aliases as stored: trimmed, each at most a question's length, one per normalized wording.</summary>
    private static IReadOnlyList<(string Alias, string Normalized)> ValidateAliases(IReadOnlyList<string>? aliases) =>
        (aliases ?? []).Select((alias, i) =>
            {
                try
                {
                    return ValidateQuestion(alias);
                }
                catch (ArgumentException ex)
                {
                    throw new ArgumentException($"Alias {i}: {ex.Message}");
                }
            })
            .Select(alias => (Alias: alias, Normalized: Normalize(alias)))
            .DistinctBy(a => a.Normalized, StringComparer.Ordinal)
            .ToList();

    private static async Task<IReadOnlyList<KbQuestion>> ReadQuestionsAsync(NpgsqlCommand command)
    {
        var questions = new List<KbQuestion>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            questions.Add(new KbQuestion(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetInt32(5), reader.GetString(6), reader.GetFieldValue<DateTimeOffset>(7)));
        }

        return questions;
    }

    private static (string Question, string Answer) Validate(KbEntryInput input)
    {
        var question = ValidateQuestion(input.Question);
        var answer = input.Answer?.Trim();
        if (string.IsNullOrEmpty(answer))
        {
            throw new ArgumentException("An entry needs an answer.");
        }

        return answer.Length <= MaxAnswerLength ? (question, answer) : throw new ArgumentException($"An answer is at most {MaxAnswerLength} characters.");
    }

    private static string ValidateQuestion(string? question)
    {
        var text = question?.Trim();
        if (string.IsNullOrEmpty(text))
        {
            throw new ArgumentException("The question is empty.");
        }

        return text.Length <= MaxQuestionLength ? text : throw new ArgumentException($"A question is at most {MaxQuestionLength} characters.");
    }

    private static string Normalize(string text) => Whitespace().Replace(text.ToLowerInvariant(), " ").Trim(' ', '?', '!', '.');

    private static string NewId(string prefix) => $"{prefix}_{Guid.NewGuid():N}"[..(prefix.Length + 21)];

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
