namespace CustomerGrains.Grains;

/// <summary>The customer's profile, as merged from every source.</summary>
[GenerateSerializer, Immutable, Alias("cg.CustomerProfile")]
public sealed record CustomerProfile(
    string? Name,
    IReadOnlyList<string> Emails,
    IReadOnlyList<string> Phones,
    string? Language,
    string? Timezone,
    IReadOnlyDictionary<string, string> Attributes);

/// <summary>How the customer wants to be addressed.</summary>
[GenerateSerializer, Immutable, Alias("cg.Preferences")]
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
[GenerateSerializer, Immutable, Alias("cg.PreferencesPatch")]
public sealed record PreferencesPatch(
    string? Channel = null,
    string? Tone = null,
    string? Language = null,
    bool? DoNotContact = null,
    IReadOnlyList<string>? Topics = null);

/// <summary>Activity figures derived from the history.</summary>
[GenerateSerializer, Immutable, Alias("cg.CustomerStats")]
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
[GenerateSerializer, Immutable, Alias("cg.CustomerContext")]
public sealed record CustomerContext(
    string TenantId,
    string CustomerId,
    CustomerProfile Profile,
    IReadOnlyList<ExternalIdentity> Identities,
    string Segment,
    Preferences Preferences,
    CustomerStats Stats,
    IReadOnlyList<Interaction> Recent,
    string Summary,
    string? SegmentReason = null);

/// <summary>All that is stored about one customer (right of access).</summary>
[GenerateSerializer, Immutable, Alias("cg.CustomerExport")]
public sealed record CustomerExport(
    CustomerContext Context,
    IReadOnlyList<Interaction> History,
    IReadOnlyList<InboxRecord> InboxRecords);

/// <summary>A webhook delivery kept in the inbox for this customer.</summary>
[GenerateSerializer, Immutable, Alias("cg.InboxRecord")]
public sealed record InboxRecord(long Id, string Provider, string ConnectionId, string Status, DateTimeOffset ReceivedAt, string? Payload);
