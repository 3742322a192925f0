using Npgsql;

namespace CustomerGrains.Grains.Knowledge;

/// <summary>A reply an agent accepted or edited becomes an entry when a senior promotes it: taken from the suggestion's
/// audit row (<see cref="Suggestions.SuggestionAudit"/>), masked (it was written to one customer; an entry serves
/// everyone), and marked promoted in the same transaction, so it is promoted once.</summary>
internal sealed class ReplyPromotion(NpgsqlDataSource database, string tenantId, KnowledgeStore store, Suggestions.SuggestionAudit audit)
{
    public async Task<KbEntry> PromoteReplyAsync(string suggestionId, KbEntryInput changes, string author)
    {
        await using var connection = await database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var (message, reply) = await audit.TakeForPromotionAsync(transaction, tenantId, suggestionId);

        // The reply was written to one customer; as an entry it serves everyone, so their personal data stays out
        // (the stored message is masked already).
        var input = changes with { Question = changes.Question ?? message, Answer = changes.Answer ?? new Suggestions.PiiMasker().Mask(reply) };
        var entry = await store.InsertEntryAsync(transaction, input, "accepted-reply", author);

        await audit.MarkPromotedAsync(transaction, tenantId, suggestionId, entry.EntryId);
        await transaction.CommitAsync();
        return entry;
    }
}
