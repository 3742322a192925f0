using System.Text.Json;
using Npgsql;

namespace CustomerGrains.Grains.Knowledge;

/// <summary>
/// The employee question flow: an ask answered outright or offered the nearest entries, picked (which teaches the
/// entry the asker's wording), escalated to a senior (with the notification in the same transaction), and answered
/// by the senior (the answer joins the knowledge base).
/// </summary>
internal sealed class QuestionFlow(NpgsqlDataSource database, string tenantId, KnowledgeStore store, KnowledgeSearch search, KnowledgeOptions options, TimeProvider time)
{
    public async Task<AskResult> AskAsync(string question, string askedBy)
    {
        var text = KnowledgeStore.ValidateQuestion(question);
        var hits = await search.SearchAsync(text, 8);
        // A confident answer in the asker's language before one in another: a knowledge base often holds an entry in
        // each, and a reranked question's own-language entries score the blend with the encoder's cosine, which a
        // translation found in another language (kept at its lexical score) can pass. Only where the language is certain:
        // "Скасування замовлення" is Ukrainian in all but its letters.
        var language = TextLanguage.Certain(text);
        var confident = hits.Where(h => h.Score >= options.ConfidentScore).ToList();
        var match = confident.FirstOrDefault(h => language is not null && KnowledgeSearch.LanguageOf(h) == language) ?? confident.FirstOrDefault();
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
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(KnowledgeStore.NewId("q"));
        command.Parameters.AddWithValue(text);
        command.Parameters.AddWithValue(KnowledgeStore.Normalize(text));
        command.Parameters.AddWithValue(askedBy);
        command.Parameters.AddWithValue((object?)match?.EntryId ?? DBNull.Value);
        command.Parameters.AddWithValue(options.FaqThreshold);
        var questionId = (string)(await command.ExecuteScalarAsync())!;
        if (match is not null)
        {
            await using var counted = database.CreateCommand("UPDATE kb_entries SET times_asked = times_asked + 1 WHERE tenant_id = $1 AND entry_id = $2");
            counted.Parameters.AddWithValue(tenantId);
            counted.Parameters.AddWithValue(match.EntryId);
            await counted.ExecuteNonQueryAsync();
        }

        AskResult result;
        if (match is null)
        {
            result = new AskResult(questionId, null, [], await search.FillAsync(text, hits.Take(5).ToList(), [], 5));
        }
        else
        {
            // "You may also want": the question's next matches. (A second search for the answer's own neighbours took a
            // third of an ask's database time and showed fewer of the entries an asker might have meant.)
            var related = hits.Where(h => h.EntryId != match.EntryId).Take(3).ToList();
            result = new AskResult(questionId, match, await search.FillAsync(text, related, [match.EntryId], 3), []);
        }

        // What the asker was shown is what they may pick.
        await using var offered = database.CreateCommand(
            "UPDATE kb_questions SET offered = ARRAY(SELECT DISTINCT unnest(offered || $3)) WHERE tenant_id = $1 AND question_id = $2 AND NOT offered @> $3");
        offered.Parameters.AddWithValue(tenantId);
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
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(questionId);
        await using var reader = await command.ExecuteReaderAsync();
        if (!await reader.ReadAsync())
        {
            throw new NotFoundException($"No question '{questionId}'.");
        }

        return privileged || reader.GetFieldValue<string[]>(0).Contains(by, StringComparer.Ordinal)
            ? reader.GetFieldValue<string[]>(1)
            : throw new UnauthorizedAccessException($"Only an agent who asked question {questionId}, or a senior, may {action} it.");
    }

    public async Task<KbQuestion> EscalateAsync(string questionId, string by, bool privileged)
    {
        await OfferedToAsync(questionId, by, privileged, "escalate");

        // The status change and the notification are one transaction: a senior is told exactly when it happened.
        await using var connection = await database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        KbQuestion question;
        await using (var command = new NpgsqlCommand(
            $"UPDATE kb_questions SET status = 'AwaitingSenior', updated_at = now() WHERE tenant_id = $1 AND question_id = $2 AND status IN ('Unanswered', 'AwaitingSenior') RETURNING {KnowledgeStore.QuestionColumns}",
            connection, transaction))
        {
            command.Parameters.AddWithValue(tenantId);
            command.Parameters.AddWithValue(questionId);
            question = (await KnowledgeStore.ReadQuestionsAsync(command)).SingleOrDefault()
                ?? (await store.GetQuestionAsync(questionId) is { } existing
                    ? throw new ConflictException($"Question {questionId} is {existing.Status}; only unanswered questions are escalated.")
                    : throw new NotFoundException($"No question '{questionId}'."));
        }

        var payload = JsonSerializer.Serialize(new
        {
            type = "question.escalated",
            tenantId = tenantId,
            questionId,
            question = question.Question,
            askedBy = question.AskedBy,
            timesAsked = question.TimesAsked,
            escalatedAt = time.GetUtcNow(),
        });
        await using (var notify = Storage.KbNotificationsTable.Insert(connection, transaction, tenantId, questionId, payload))
        {
            await notify.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
        GrainTelemetry.KnowledgeEscalations.Add(1);
        return question;
    }

    public async Task<KbQuestion> AnswerAsync(string questionId, string answer, IReadOnlyList<string>? tags, string author, string? question = null)
    {
        var asked = await store.GetQuestionAsync(questionId) ?? throw new NotFoundException($"No question '{questionId}'.");
        if (asked.Status is KbQuestionStatus.AddedToKb or KbQuestionStatus.Faq)
        {
            throw new ConflictException($"Question {questionId} is answered already (entry {asked.EntryId}).");
        }

        // The senior's answer joins the knowledge base at once, and the question points at it. Put in the knowledge
        // base's own words, the entry keeps the asker's wording as an alias.
        var rephrased = string.IsNullOrWhiteSpace(question) ? null : question;
        var entry = await store.AddEntryAsync(new KbEntryInput(rephrased ?? asked.Question, answer, tags, Aliases: rephrased is null ? null : [asked.Question]), "senior-answer", author);
        await using var command = database.CreateCommand(
            $"UPDATE kb_questions SET status = 'AddedToKb', entry_id = $3, updated_at = now() WHERE tenant_id = $1 AND question_id = $2 RETURNING {KnowledgeStore.QuestionColumns}");
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(questionId);
        command.Parameters.AddWithValue(entry.EntryId);
        return (await KnowledgeStore.ReadQuestionsAsync(command)).Single();
    }

    public async Task<KbQuestion> PickAsync(string questionId, string entryId, string by, bool privileged)
    {
        if (!(await OfferedToAsync(questionId, by, privileged, "pick an answer for")).Contains(entryId, StringComparer.Ordinal))
        {
            throw new ArgumentException($"Entry {entryId} was not offered for question {questionId}: pick one of the entries its ask listed.");
        }

        var asked = await store.GetQuestionAsync(questionId) ?? throw new NotFoundException($"No question '{questionId}'.");
        if (asked.EntryId is { } answeredBy && answeredBy != entryId)
        {
            throw new ConflictException($"Question {questionId} is answered already (entry {answeredBy}).");
        }

        await using var connection = await database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        if (await store.ReadEntryAsync(entryId, transaction) is null)
        {
            throw new NotFoundException($"No knowledge-base entry '{entryId}'.");
        }

        // The asker's wording now finds the entry it meant; picked again, nothing changes.
        await store.AddAliasesAsync(connection, transaction, entryId, KnowledgeStore.ValidateAliases([asked.Question]), replace: false);
        await using (var command = new NpgsqlCommand(
            """
            WITH answered AS (
                UPDATE kb_questions SET status = 'AddedToKb', entry_id = $3, updated_at = now()
                WHERE tenant_id = $1 AND question_id = $2 AND entry_id IS NULL RETURNING 1)
            UPDATE kb_entries SET times_asked = times_asked + 1 WHERE tenant_id = $1 AND entry_id = $3 AND EXISTS (SELECT 1 FROM answered)
            """, connection, transaction))
        {
            command.Parameters.AddWithValue(tenantId);
            command.Parameters.AddWithValue(questionId);
            command.Parameters.AddWithValue(entryId);
            await command.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
        return (await store.GetQuestionAsync(questionId))!;
    }

}
