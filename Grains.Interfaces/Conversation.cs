using Orleans.Runtime;

namespace CustomerGrains.Grains;

/// <summary>An interaction as stored: <see cref="Seq"/> is its place in the order interactions were stored (rising,
/// with gaps), what a live view remembers to ask for what it missed.</summary>
[GenerateSerializer, Immutable, Alias("cg.StoredInteraction")]
public sealed record StoredInteraction([property: Id(0)] long Seq, [property: Id(1)] Interaction Interaction);

/// <summary>A page of a customer's conversation, newest first; <see cref="Before"/> asks for the next older page
/// (null: there is none).</summary>
[GenerateSerializer, Immutable, Alias("cg.ConversationPage")]
public sealed record ConversationPage([property: Id(0)] IReadOnlyList<StoredInteraction> Items, [property: Id(1)] string? Before)
{
    /// <summary>At most this many interactions per page.</summary>
    public const int MaxLimit = 200;
}

/// <summary>A customer as the directory lists them.</summary>
[GenerateSerializer, Immutable, Alias("cg.CustomerListing")]
public sealed record CustomerListing(
    [property: Id(0)] string CustomerId,
    [property: Id(1)] string? Name,
    [property: Id(2)] IReadOnlyList<string> Emails,
    [property: Id(3)] IReadOnlyList<string> Phones,
    [property: Id(4)] IReadOnlyList<ExternalIdentity> Identities,
    [property: Id(5)] DateTimeOffset LastActiveAt);

/// <summary>A page of the directory, most recently active first; <see cref="Cursor"/> asks for the next page.</summary>
public sealed record CustomerListPage(IReadOnlyList<CustomerListing> Items, string? Cursor);

/// <summary>The live stream of a customer's new interactions (Orleans streams, provider <see cref="Provider"/>):
/// the customer grain publishes each interaction it stores while a view watches, and the gateway's event stream
/// forwards them.</summary>
public static class LiveStreams
{
    public const string Provider = "live";

    public const string CustomerNamespace = "customer";

    /// <summary>How long a view's <see cref="ICustomerGrain.WatchAsync"/> keeps the grain publishing.</summary>
    public static readonly TimeSpan WatchLease = TimeSpan.FromSeconds(30);

    public static StreamId Customer(string tenantId, string customerId) => StreamId.Create(CustomerNamespace, CustomerKey.Of(tenantId, customerId));
}
