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
    string Source,
    string EventId,
    string Channel,
    InteractionDirection Direction,
    string Text,
    DateTimeOffset OccurredAt,
    string? ConversationId = null,
    double? Sentiment = null,
    string? Author = null,
    bool FromBot = false);

/// <summary>An id of the customer in another system: <c>chatwoot:42</c>, <c>hubspot:901</c>, <c>email:ann@example.com</c>.</summary>
[GenerateSerializer, Immutable, Alias("cg.ExternalIdentity")]
public sealed record ExternalIdentity(string Provider, string ExternalId)
{
    public override string ToString() => Provider + ":" + ExternalId;
}

/// <summary>What an event says about its customer; null fields say nothing.</summary>
[GenerateSerializer, Immutable, Alias("cg.CustomerFacts")]
public sealed record CustomerFacts(
    string? Name = null,
    string? Email = null,
    string? Phone = null,
    string? Language = null,
    string? Timezone = null,
    IReadOnlyDictionary<string, string>? Attributes = null)
{
    public static readonly CustomerFacts None = new();
}

/// <summary>What the customer grain receives for one interaction.</summary>
/// <param name="InboxId">The inbox row it came from, marked done with the append; null for direct ingestion.</param>
[GenerateSerializer, Immutable, Alias("cg.AppendRequest")]
public sealed record AppendRequest(Interaction Interaction, CustomerFacts Facts, IReadOnlyList<ExternalIdentity> Identities, long? InboxId = null);

/// <summary>Whether an append added the interaction (false: it was there already).</summary>
[GenerateSerializer, Immutable, Alias("cg.AppendResult")]
public sealed record AppendResult(bool Added, int Interactions);
