namespace CustomerGrains.Grains;

/// <summary>Who wrote a message: the customer, or us (an agent or a bot) to the customer.</summary>
[GenerateSerializer, Alias("cg.InteractionDirection")]
public enum InteractionDirection
{
    Inbound,
    Outbound,
}

/// <summary>
/// One message in a customer's history. <see cref="Source"/> and <see cref="EventId"/> identify it across
/// retries: appending the same pair twice is a no-op.
/// </summary>
/// <param name="Source">Where it came from: <c>{provider}:{connectionId}</c>, or <c>api</c> for direct ingestion.</param>
/// <param name="EventId">The sender's id for the message, unique within the source.</param>
/// <param name="Channel">email, chat, whatsapp, phone, web, ...</param>
/// <param name="Sentiment">-1 (negative) to 1 (positive), when the CRM sends one.</param>
/// <param name="Author">Who wrote an outbound message, as the CRM names them (an agent's name, else their id); null
/// for the customer's own, or when the CRM does not say.</param>
/// <param name="FromBot">An outbound message a bot wrote, not a person.</param>
[GenerateSerializer, Immutable, Alias("cg.Interaction")]
public sealed record Interaction(
    [property: Id(0)] string Source,
    [property: Id(1)] string EventId,
    [property: Id(2)] string Channel,
    [property: Id(3)] InteractionDirection Direction,
    [property: Id(4)] string Text,
    [property: Id(5)] DateTimeOffset OccurredAt,
    [property: Id(6)] string? ConversationId = null,
    [property: Id(7)] double? Sentiment = null,
    [property: Id(8)] string? Author = null,
    [property: Id(9)] bool FromBot = false);

/// <summary>An id of the customer in another system: <c>chatwoot:42</c>, <c>hubspot:901</c>, <c>email:ann@example.com</c>.</summary>
[GenerateSerializer, Immutable, Alias("cg.ExternalIdentity")]
public sealed record ExternalIdentity([property: Id(0)] string Provider, [property: Id(1)] string ExternalId)
{
    public override string ToString() => Provider + ":" + ExternalId;
}

/// <summary>What an event says about its customer; null fields say nothing.</summary>
[GenerateSerializer, Immutable, Alias("cg.CustomerFacts")]
public sealed record CustomerFacts(
    [property: Id(0)] string? Name = null,
    [property: Id(1)] string? Email = null,
    [property: Id(2)] string? Phone = null,
    [property: Id(3)] string? Language = null,
    [property: Id(4)] string? Timezone = null,
    [property: Id(5)] IReadOnlyDictionary<string, string>? Attributes = null)
{
    public static readonly CustomerFacts None = new();
}

/// <summary>What the customer grain receives for one interaction.</summary>
/// <param name="InboxId">The inbox row it came from, marked done with the append; null for direct ingestion.</param>
[GenerateSerializer, Immutable, Alias("cg.AppendRequest")]
public sealed record AppendRequest([property: Id(0)] Interaction Interaction, [property: Id(1)] CustomerFacts Facts, [property: Id(2)] IReadOnlyList<ExternalIdentity> Identities, [property: Id(3)] long? InboxId = null);

/// <summary>Whether an append added the interaction (false: it was there already).</summary>
[GenerateSerializer, Immutable, Alias("cg.AppendResult")]
public sealed record AppendResult([property: Id(0)] bool Added, [property: Id(1)] int Interactions);
