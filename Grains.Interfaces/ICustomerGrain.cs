namespace CustomerGrains.Grains;

/// <summary>
/// One customer of one tenant, keyed <c>{tenantId}/{customerId}</c>: profile, identities, segment, preferences
/// and conversation history.
/// </summary>
[Alias("cg.ICustomerGrain")]
public interface ICustomerGrain : IGrainWithStringKey
{
    /// <summary>Appends an interaction (a no-op if its source and event id are there already), merges what the
    /// event says about the customer, and marks the inbox row done in the same transaction.</summary>
    [Alias("AppendAsync")]
    Task<AppendResult> AppendAsync(AppendRequest request);

    /// <summary>The context for reply generation; throws <see cref="KeyNotFoundException"/> for an unknown customer.</summary>
    [ReadOnly]
    [Alias("GetContextAsync")]
    Task<CustomerContext> GetContextAsync();

    [Alias("UpdatePreferencesAsync")]
    Task<Preferences> UpdatePreferencesAsync(PreferencesPatch patch);

    /// <summary>Right to be forgotten: removes history, identities, profile and inbox payloads. False if unknown.</summary>
    [Alias("EraseAsync")]
    Task<bool> EraseAsync();

    /// <summary>A page of the conversation, newest first: the newest <paramref name="limit"/> interactions (1 to 200),
    /// or those before the cursor a previous page gave.</summary>
    [ReadOnly]
    [Alias("GetConversationAsync")]
    Task<ConversationPage> GetConversationAsync(string? before, int limit);

    /// <summary>The interactions stored after sequence number <paramref name="seq"/> (what a live view missed), oldest
    /// first, at most 200.</summary>
    [ReadOnly]
    [Alias("GetSinceAsync")]
    Task<IReadOnlyList<StoredInteraction>> GetSinceAsync(long seq);

    /// <summary>A live view is open: what the grain stores from now until <see cref="LiveStreams.WatchLease"/> has
    /// passed is published to the customer's live stream. Views renew it while open; with none, nothing is published
    /// (a notification costs a queue message per stored interaction, and most customers have no view open).</summary>
    [AlwaysInterleave]
    [Alias("WatchAsync")]
    Task WatchAsync();

    /// <summary>Everything stored about the customer.</summary>
    [ReadOnly]
    [Alias("ExportAsync")]
    Task<CustomerExport> ExportAsync();

    /// <summary>Reply suggestions for the customer's conversation, grounded in the knowledge base and past accepted
    /// replies; within the deadline, retrieval-only (degraded) when the model cannot answer in time.</summary>
    /// <param name="cancellationToken">The agent gave up (closed the request): the drafts stop and free their slots.</param>
    [ReadOnly]
    [Alias("SuggestAsync")]
    Task<SuggestionResult> SuggestAsync(SuggestionRequest request, CancellationToken cancellationToken = default);

    /// <summary><see cref="SuggestAsync"/> as it happens: the retrieved answers at once, each generated draft as the
    /// model writes it, then the final record (see <see cref="SuggestionEvent"/>).</summary>
    [Alias("StreamSuggestionsAsync")]
    IAsyncEnumerable<SuggestionEvent> StreamSuggestionsAsync(SuggestionRequest request, CancellationToken cancellationToken = default);
}

/// <summary>
/// Resolves external identities to customer ids for one tenant (key: tenant id). Identities that share an email
/// resolve to the same customer, so a Chatwoot contact and a HubSpot contact of one person are one customer.
/// </summary>
[Alias("cg.ICustomerDirectoryGrain")]
public interface ICustomerDirectoryGrain : IGrainWithStringKey
{
    /// <summary>The customer any of <paramref name="identities"/> belongs to, linking the others to it; a new
    /// customer when none is known.</summary>
    [Alias("ResolveOrCreateAsync")]
    Task<string> ResolveOrCreateAsync(IReadOnlyList<ExternalIdentity> identities);

    /// <summary><see cref="ResolveOrCreateAsync"/> for many events at once (one query when every identity is known),
    /// in the order given.</summary>
    [Alias("ResolveManyAsync")]
    Task<string[]> ResolveManyAsync(IReadOnlyList<IReadOnlyList<ExternalIdentity>> customers);

    /// <summary>The customer with this identity (provider <c>id</c> means our own customer id); null if none.</summary>
    [Alias("FindAsync")]
    Task<string?> FindAsync(ExternalIdentity identity);
}
