namespace CustomerGrains.Grains;

/// <summary>The customer's profile, as merged from every source.</summary>
public sealed record CustomerProfile(
    string? Name,
    IReadOnlyList<string> Emails,
    IReadOnlyList<string> Phones,
    string? Language,
    string? Timezone,
    IReadOnlyDictionary<string, string> Attributes);

/// <summary>How the customer wants to be addressed.</summary>
public sealed record Preferences(
    string? Channel,
    string? Tone,
    string? Language,
    bool DoNotContact,
    IReadOnlyList<string> Topics)
{
    public static readonly Preferences Default = new(null, null, null, false, []);
}

/// <summary>A change to <see cref="Preferences"/>: null fields stay as they are.</summary>
public sealed record PreferencesPatch(
    string? Channel = null,
    string? Tone = null,
    string? Language = null,
    bool? DoNotContact = null,
    IReadOnlyList<string>? Topics = null);

/// <summary>Activity figures derived from the history.</summary>
public sealed record CustomerStats(
    int Interactions,
    int InteractionsLast30Days,
    DateTimeOffset? FirstSeen,
    DateTimeOffset? LastSeen,
    double? AverageSentiment,
    decimal? LifetimeValue);

/// <summary>
/// Everything a reply generator needs about one customer, bounded in size: the recent turns verbatim (each
/// cut to a limit), older ones as a summary.
/// </summary>
public sealed record CustomerContext(
    string TenantId,
    string CustomerId,
    CustomerProfile Profile,
    IReadOnlyList<ExternalIdentity> Identities,
    string Segment,
    Preferences Preferences,
    CustomerStats Stats,
    IReadOnlyList<Interaction> Recent,
    string Summary);

/// <summary>All that is stored about one customer (right of access).</summary>
public sealed record CustomerExport(
    CustomerContext Context,
    IReadOnlyList<Interaction> History,
    IReadOnlyList<InboxRecord> InboxRecords);

/// <summary>A webhook delivery kept in the inbox for this customer.</summary>
public sealed record InboxRecord(long Id, string Provider, string ConnectionId, string Status, DateTimeOffset ReceivedAt, string? Payload);
