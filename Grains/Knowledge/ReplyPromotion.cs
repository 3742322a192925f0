using Npgsql;

namespace CustomerGrains.Grains.Knowledge;

/// <summary>A reply an agent accepted or edited becomes an entry when a senior promotes it: read from the suggestion's
/// audit row, masked (it was written to one customer; an entry serves everyone), and marked promoted in the same
/// transaction, so it is promoted once.</summary>
internal sealed class ReplyPromotion(NpgsqlDataSource database, string tenantId, KnowledgeStore store)
{
    public async Task<KbEntry> PromoteReplyAsync(string suggestionId, KbEntryInput changes, string author)
    {
        await using var connection = await database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        string message, reply;
        await using (var read = new NpgsqlCommand(
            "SELECT outcome, message, coalesce(final_text, text), promoted_entry FROM suggestion_audit WHERE tenant_id = $1 AND suggestion_id = $2 FOR UPDATE",
            connection, transaction))
        {
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

            if (outcome is not ("accepted" or "edited"))
            {
                throw new ConflictException($"Suggestion {suggestionId} was {outcome}; only a reply an agent accepted or edited is promoted.");
            }

            (message, reply) = (reader.GetString(1), reader.GetString(2));
        }

        // The reply was written to one customer; as an entry it serves everyone, so their personal data stays out
        // (the stored message is masked already).
        var input = changes with { Question = changes.Question ?? message, Answer = changes.Answer ?? new Suggestions.PiiMasker().Mask(reply) };
        var entry = await store.InsertEntryAsync(transaction, input, "accepted-reply", author);

        await using (var mark = new NpgsqlCommand("UPDATE suggestion_audit SET promoted_entry = $3 WHERE tenant_id = $1 AND suggestion_id = $2", connection, transaction))
        {
            mark.Parameters.AddWithValue(tenantId);
            mark.Parameters.AddWithValue(suggestionId);
            mark.Parameters.AddWithValue(entry.EntryId);
            await mark.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
        return entry;
    }
}
