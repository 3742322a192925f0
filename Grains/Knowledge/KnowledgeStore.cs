using System.Text.RegularExpressions;
using Npgsql;

namespace CustomerGrains.Grains.Knowledge;

/// <summary>
/// One tenant's knowledge-base entries (<c>kb_entries</c>, with their other wordings in <c>kb_aliases</c>) and the
/// questions agents asked (<c>kb_questions</c>): the SQL that reads and writes them, and what a valid entry is.
/// </summary>
internal sealed partial class KnowledgeStore(NpgsqlDataSource database, string tenantId)
{
    public const int MaxQuestionLength = 2_000;
    public const int MaxAnswerLength = 20_000;

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
            command.Parameters.AddWithValue(tenantId);
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
        command.Parameters.AddWithValue(tenantId);
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
                alias.Parameters.AddWithValue(tenantId);
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
        command.Parameters.AddWithValue(tenantId);
        return await ReadEntriesAsync(command);
    }

    /// <summary>Adds an entry inside <paramref name="transaction"/> and returns it as stored.</summary>
    public async Task<KbEntry> InsertEntryAsync(NpgsqlTransaction transaction, KbEntryInput input, string source, string author)
    {
        var (question, answer) = Validate(input);
        await using var insert = new NpgsqlCommand(
            $"""
            INSERT INTO kb_entries (tenant_id, entry_id, question, answer, tags, language, source, author)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {EntryColumns}
            """, transaction.Connection, transaction);
        AddEntryParameters(insert, NewId("kb"), question, answer, input, source, author);
        return (await ReadEntriesAsync(insert)).Single();
    }

    public async Task<KbQuestion?> GetQuestionAsync(string questionId)
    {
        await using var command = database.CreateCommand($"SELECT {QuestionColumns} FROM kb_questions WHERE tenant_id = $1 AND question_id = $2");
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(questionId);
        return (await ReadQuestionsAsync(command)).SingleOrDefault();
    }

    public async Task<IReadOnlyList<KbQuestion>> ListQuestionsAsync(KbQuestionStatus? status, string? askedBy = null)
    {
        await using var command = database.CreateCommand(
            $"SELECT {QuestionColumns} FROM kb_questions WHERE tenant_id = $1 AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR asked_by = $3) ORDER BY times_asked DESC, created_at LIMIT 500");
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(NpgsqlTypes.NpgsqlDbType.Text, (object?)status?.ToString() ?? DBNull.Value);
        command.Parameters.AddWithValue(NpgsqlTypes.NpgsqlDbType.Text, (object?)askedBy ?? DBNull.Value);
        return await ReadQuestionsAsync(command);
    }

    public const string EntryColumns =
        "entry_id, question, answer, tags, language, source, author, times_asked, created_at, updated_at, " +
        "(SELECT coalesce(array_agg(a.alias ORDER BY a.created_at, a.alias), '{}') FROM kb_aliases a WHERE a.tenant_id = kb_entries.tenant_id AND a.entry_id = kb_entries.entry_id)";

    public const string QuestionColumns =
        "question_id, question, status, entry_id, (SELECT e.answer FROM kb_entries e WHERE e.tenant_id = kb_questions.tenant_id AND e.entry_id = kb_questions.entry_id), times_asked, asked_by, created_at";

    private void AddEntryParameters(NpgsqlCommand command, string entryId, string question, string answer, KbEntryInput input, string source, string author) =>
        AddEntryParameters(command.Parameters, entryId, question, answer, input, source, author);

    private void AddEntryParameters(NpgsqlBatchCommand command, string entryId, string question, string answer, KbEntryInput input, string source, string author) =>
        AddEntryParameters(command.Parameters, entryId, question, answer, input, source, author);

    private void AddEntryParameters(NpgsqlParameterCollection parameters, string entryId, string question, string answer, KbEntryInput input, string source, string author)
    {
        parameters.AddWithValue(tenantId);
        parameters.AddWithValue(entryId);
        parameters.AddWithValue(question);
        parameters.AddWithValue(answer);
        parameters.AddWithValue((input.Tags ?? []).Select(t => t.Trim()).Where(t => t.Length > 0).Distinct().ToArray());
        parameters.AddWithValue((object?)input.Language ?? DBNull.Value);
        parameters.AddWithValue(source);
        parameters.AddWithValue(author);
    }

    public static async Task<IReadOnlyList<KbEntry>> ReadEntriesAsync(NpgsqlCommand command)
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
    public async Task<KbEntry?> ReadEntryAsync(string entryId, NpgsqlTransaction? transaction = null)
    {
        const string sql = $"SELECT {EntryColumns} FROM kb_entries WHERE tenant_id = $1 AND entry_id = $2";
        await using var command = transaction is null ? database.CreateCommand(sql) : new NpgsqlCommand(sql, transaction.Connection, transaction);
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(entryId);
        return (await ReadEntriesAsync(command)).SingleOrDefault();
    }

    /// <summary>Adds <paramref name="aliases"/> to the entry (those it has are kept once); with <paramref name="replace"/>,
    /// the entry's other aliases go.</summary>
    public async Task AddAliasesAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string entryId, IReadOnlyList<(string Alias, string Normalized)> aliases, bool replace)
    {
        var normalized = aliases.Select(a => a.Normalized).ToArray();
        if (replace)
        {
            await using var delete = new NpgsqlCommand("DELETE FROM kb_aliases WHERE tenant_id = $1 AND entry_id = $2 AND NOT (normalized = ANY ($3))", connection, transaction);
            delete.Parameters.AddWithValue(tenantId);
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
        insert.Parameters.AddWithValue(tenantId);
        insert.Parameters.AddWithValue(entryId);
        insert.Parameters.AddWithValue(aliases.Select(a => a.Alias).ToArray());
        insert.Parameters.AddWithValue(normalized);
        await insert.ExecuteNonQueryAsync();
    }

    /// <summary>Aliases as stored: trimmed, each at most a question's length, one per normalized wording.</summary>
    public static IReadOnlyList<(string Alias, string Normalized)> ValidateAliases(IReadOnlyList<string>? aliases) =>
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

    public static async Task<IReadOnlyList<KbQuestion>> ReadQuestionsAsync(NpgsqlCommand command)
    {
        var questions = new List<KbQuestion>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            questions.Add(new KbQuestion(reader.GetString(0), reader.GetString(1), Enum.Parse<KbQuestionStatus>(reader.GetString(2)), reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetInt32(5), reader.GetString(6), reader.GetFieldValue<DateTimeOffset>(7)));
        }

        return questions;
    }

    public static (string Question, string Answer) Validate(KbEntryInput input)
    {
        var question = ValidateQuestion(input.Question);
        var answer = input.Answer?.Trim();
        if (string.IsNullOrEmpty(answer))
        {
            throw new ArgumentException("An entry needs an answer.");
        }

        return answer.Length <= MaxAnswerLength ? (question, answer) : throw new ArgumentException($"An answer is at most {MaxAnswerLength} characters.");
    }

    public static string ValidateQuestion(string? question)
    {
        var text = question?.Trim();
        if (string.IsNullOrEmpty(text))
        {
            throw new ArgumentException("The question is empty.");
        }

        return text.Length <= MaxQuestionLength ? text : throw new ArgumentException($"A question is at most {MaxQuestionLength} characters.");
    }

    public static string Normalize(string text) => Whitespace().Replace(text.ToLowerInvariant(), " ").Trim(' ', '?', '!', '.');

    public static string NewId(string prefix) => $"{prefix}_{Guid.NewGuid():N}"[..(prefix.Length + 21)];

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
