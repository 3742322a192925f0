namespace CustomerGrains.Grains;

/// <summary>The customer's profile, as merged from every source.</summary>
[GenerateSerializer, Immutable, Alias("cg.CustomerProfile")]
public sealed record CustomerProfile(
    [property: Id(0)] string? Name,
    [property: Id(1)] IReadOnlyList<string> Emails,
    [property: Id(2)] IReadOnlyList<string> Phones,
    [property: Id(3)] string? Language,
    [property: Id(4)] string? Timezone,
    [property: Id(5)] IReadOnlyDictionary<string, string> Attributes);

/// <summary>How the customer wants to be addressed.</summary>
[GenerateSerializer, Immutable, Alias("cg.Preferences")]
public sealed record Preferences(
    [property: Id(0)] string? Channel,
    [property: Id(1)] string? Tone,
    [property: Id(2)] string? Language,
    [property: Id(3)] bool DoNotContact,
    [property: Id(4)] IReadOnlyList<string> Topics)
{
    public static readonly Preferences Default = new(null, null, null, false, []);
}

/// <summary>A change to <see cref="Preferences"/>: null fields stay as they are.</summary>
[GenerateSerializer, Immutable, Alias("cg.PreferencesPatch")]
public sealed record PreferencesPatch(
    [property: Id(0)] string? Channel = null,
    [property: Id(1)] string? Tone = null,
    [property: Id(2)] string? Language = null,
    [property: Id(3)] bool? DoNotContact = null,
    [property: Id(4)] IReadOnlyList<string>? Topics = null);

/// <summary>Activity figures derived from the history.</summary>
[GenerateSerializer, Immutable, Alias("cg.CustomerStats")]
public sealed record CustomerStats(
    [property: Id(0)] int Interactions,
    [property: Id(1)] int InteractionsLast30Days,
    [property: Id(2)] DateTimeOffset? FirstSeen,
    [property: Id(3)] DateTimeOffset? LastSeen,
    [property: Id(4)] double? AverageSentiment,
    [property: Id(5)] decimal? LifetimeValue);

/// <summary>
/// Everything a reply generator needs about one customer, bounded in size: the recent turns verbatim (each
/// cut to a limit), older ones as a summary.
/// </summary>
[GenerateSerializer, Immutable, Alias("cg.CustomerContext")]
public sealed record CustomerContext(
    [property: Id(0)] string TenantId,
    [property: Id(1)] string CustomerId,
    [property: Id(2)] CustomerProfile Profile,
    [property: Id(3)] IReadOnlyList<ExternalIdentity> Identities,
    [property: Id(4)] string Segment,
    [property: Id(5)] Preferences Preferences,
    [property: Id(6)] CustomerStats Stats,
    [property: Id(7)] IReadOnlyList<Interaction> Recent,
    [property: Id(8)] string Summary,
    [property: Id(9)] string? SegmentReason = null);

/// <summary>All that is stored about one customer (right of access).</summary>
[GenerateSerializer, Immutable, Alias("cg.CustomerExport")]
public sealed record CustomerExport(
    [property: Id(0)] CustomerContext Context,
    [property: Id(1)] IReadOnlyList<Interaction> History,
    [property: Id(2)] IReadOnlyList<InboxRecord> InboxRecords);

/// <summary>A webhook delivery kept in the inbox for this customer.</summary>
[GenerateSerializer, Immutable, Alias("cg.InboxRecord")]
public sealed record InboxRecord([property: Id(0)] long Id, [property: Id(1)] string Provider, [property: Id(2)] string ConnectionId, [property: Id(3)] string Status, [property: Id(4)] DateTimeOffset ReceivedAt, [property: Id(5)] string? Payload);
