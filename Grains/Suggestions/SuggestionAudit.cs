using Npgsql;

namespace CustomerGrains.Grains.Suggestions;

/// <summary>
/// The <c>suggestion_audit</c> table (Grains/Sql/003_suggestions.sql and its later columns): the one class that writes
/// it. A row per suggestion shown, with what the agent did with it (accepted, edited with the text sent, rejected with
/// why), what was sent into the CRM from it, and the knowledge-base entry it was promoted to. The gateway writes
/// through <see cref="ISuggestionAuditGrain"/>; retrieval and the report only read it.
/// </summary>
public sealed class SuggestionAudit(NpgsqlDataSource database)
{
    /// <summary>The suggestions an agent was shown, with the masked message, the model and why they were degraded.</summary>
    public async Task RecordShownAsync(
        CustomerContext context, SuggestionRequest request, string? model, string promptHash, string maskedMessage, IReadOnlyList<Suggestion> suggestions, string? reason, double latency)
    {
        if (suggestions.Count == 0)
        {
            return;
        }

        await using var batch = database.CreateBatch();
        foreach (var suggestion in suggestions)
        {
            var insert = new NpgsqlBatchCommand(
                """
                INSERT INTO suggestion_audit (tenant_id, suggestion_id, customer_id, requested_by, model, prompt_hash, kind, sources, message, text, degraded, reason, latency_ms)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                """);
            insert.Parameters.AddWithValue(context.TenantId);
            insert.Parameters.AddWithValue(suggestion.Id);
            insert.Parameters.AddWithValue(context.CustomerId);
            insert.Parameters.AddWithValue(request.RequestedBy);
            insert.Parameters.AddWithValue((object?)model ?? DBNull.Value);
            insert.Parameters.AddWithValue(promptHash);
            insert.Parameters.AddWithValue(suggestion.Kind == SuggestionKind.Generated ? "generated" : "retrieved");
            insert.Parameters.AddWithValue(suggestion.Sources.ToArray());
            insert.Parameters.AddWithValue(maskedMessage);
            insert.Parameters.AddWithValue(suggestion.Text);
            insert.Parameters.AddWithValue(reason is not null);
            insert.Parameters.AddWithValue((object?)reason ?? DBNull.Value);
            insert.Parameters.AddWithValue(latency);
            batch.BatchCommands.Add(insert);
        }

        await batch.ExecuteNonQueryAsync();
    }

    /// <summary>What the agent did with a suggestion, once: a second decision is refused (409), an unknown suggestion
    /// is not found (404).</summary>
    public async Task RecordFeedbackAsync(string tenantId, string suggestionId, SuggestionFeedback feedback)
    {
        await using var command = database.CreateCommand(
            """
            UPDATE suggestion_audit SET outcome = $3, final_text = $4, feedback_reason = $5, decided_at = now()
            WHERE tenant_id = $1 AND suggestion_id = $2 AND outcome = 'shown'
            RETURNING 1
            """);
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(suggestionId);
        command.Parameters.AddWithValue(feedback.Outcome!);
        command.Parameters.AddWithValue((object?)feedback.FinalText ?? DBNull.Value);
        command.Parameters.AddWithValue(NpgsqlTypes.NpgsqlDbType.Text, (object?)(string.IsNullOrWhiteSpace(feedback.Reason) ? null : feedback.Reason.Trim()) ?? DBNull.Value);
        if (await command.ExecuteScalarAsync() is not null)
        {
            return;
        }

        await using var exists = database.CreateCommand("SELECT outcome FROM suggestion_audit WHERE tenant_id = $1 AND suggestion_id = $2");
        exists.Parameters.AddWithValue(tenantId);
        exists.Parameters.AddWithValue(suggestionId);
        throw await exists.ExecuteScalarAsync() is string outcome
            ? new ConflictException($"Suggestion {suggestionId} was {outcome} already.")
            : new NotFoundException($"No suggestion '{suggestionId}'.");
    }

    /// <summary>The text sent into the CRM from a suggestion of <paramref name="customerId"/>'s: accepted when it was sent
    /// as suggested, edited (with the text) when not. Once: a suggestion decided already keeps its decision.</summary>
    public async Task RecordSentAsync(string tenantId, string customerId, string suggestionId, string text)
    {
        await using var command = database.CreateCommand(
            """
            UPDATE suggestion_audit SET outcome = CASE WHEN text = $4 THEN 'accepted' ELSE 'edited' END,
                final_text = CASE WHEN text = $4 THEN NULL ELSE $4 END, decided_at = now()
            WHERE tenant_id = $1 AND suggestion_id = $2 AND customer_id = $3 AND outcome = 'shown'
            """);
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(suggestionId);
        command.Parameters.AddWithValue(customerId);
        command.Parameters.AddWithValue(text);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Locks a suggestion for its promotion to an entry inside <paramref name="transaction"/>: the customer's
    /// message and the text sent. Refused unless an agent accepted or edited it, and only once.</summary>
    public async Task<(string Message, string Reply)> TakeForPromotionAsync(NpgsqlTransaction transaction, string tenantId, string suggestionId)
    {
        await using var read = new NpgsqlCommand(
            "SELECT outcome, message, coalesce(final_text, text), promoted_entry FROM suggestion_audit WHERE tenant_id = $1 AND suggestion_id = $2 FOR UPDATE",
            transaction.Connection, transaction);
        read.Parameters.AddWithValue(tenantId);
        read.Parameters.AddWithValue(suggestionId);
        await using var reader = await read.ExecuteReaderAsync();
        if (!await reader.ReadAsync())
        {
            throw new NotFoundException($"No suggestion '{suggestionId}'.");
        }

        var outcome = reader.GetString(0);
        if (!reader.IsDBNull(3))
        {
            throw new ConflictException($"Suggestion {suggestionId} was promoted already, as entry {reader.GetString(3)}.");
        }

        return outcome is "accepted" or "edited"
            ? (reader.GetString(1), reader.GetString(2))
            : throw new ConflictException($"Suggestion {suggestionId} was {outcome}; only a reply an agent accepted or edited is promoted.");
    }

    public async Task MarkPromotedAsync(NpgsqlTransaction transaction, string tenantId, string suggestionId, string entryId)
    {
        await using var mark = new NpgsqlCommand("UPDATE suggestion_audit SET promoted_entry = $3 WHERE tenant_id = $1 AND suggestion_id = $2", transaction.Connection, transaction);
        mark.Parameters.AddWithValue(tenantId);
        mark.Parameters.AddWithValue(suggestionId);
        mark.Parameters.AddWithValue(entryId);
        await mark.ExecuteNonQueryAsync();
    }

    /// <summary>The statement that erases a customer's suggestions, for the erasure's own transaction.</summary>
    public static NpgsqlBatchCommand EraseCommand(string tenantId, string customerId)
    {
        var command = new NpgsqlBatchCommand("DELETE FROM suggestion_audit WHERE tenant_id = $1 AND customer_id = $2");
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(customerId);
        return command;
    }
}

/// <summary>The gateway's way to write a tenant's suggestion audit (the table belongs to the grains' side).</summary>
[StatelessWorker]
[GrainType("suggestion-audit")]
public sealed class SuggestionAuditGrain(SuggestionAudit audit) : Grain, ISuggestionAuditGrain
{
    public Task RecordFeedbackAsync(string suggestionId, SuggestionFeedback feedback) => audit.RecordFeedbackAsync(this.GetPrimaryKeyString(), suggestionId, feedback);

    public Task RecordSentAsync(string customerId, string suggestionId, string text) => audit.RecordSentAsync(this.GetPrimaryKeyString(), customerId, suggestionId, text);
}
