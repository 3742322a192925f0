using System.Net.Http.Headers;
using System.Text.Json;
using CustomerGrains.Gateway.Tenants;
using CustomerGrains.Gateway.Webhooks;
using CustomerGrains.Grains;

namespace CustomerGrains.Gateway.Inbox;

/// <summary>
/// Fetches the text of a HubSpot conversation message (<c>GET /conversations/v3/conversations/threads/{threadId}/messages/{messageId}</c>)
/// with the connection's <c>AccessToken</c>, at <c>ApiBaseUrl</c> (default https://api.hubapi.com).
/// </summary>
public sealed class HubSpotClient(HttpClient http)
{
    public const string DefaultApiBaseUrl = "https://api.hubapi.com";

    /// <summary>The payload to deliver: the customer's message (INCOMING), or an agent's or a bot's to them
    /// (OUTGOING); null for what is not the conversation (an internal COMMENT).</summary>
    public async Task<InboxPayload?> FetchAsync(Connection connection, HubSpotMessageRef message, CancellationToken cancellationToken)
    {
        var baseUrl = connection.Options.TryGetValue("ApiBaseUrl", out var configured) ? configured.TrimEnd('/') : DefaultApiBaseUrl;
        using var request = new HttpRequestMessage(HttpMethod.Get,
            $"{baseUrl}/conversations/v3/conversations/threads/{Uri.EscapeDataString(message.ThreadId)}/messages/{Uri.EscapeDataString(message.MessageId)}");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", connection.Options["AccessToken"]);
        using var response = await http.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"HubSpot answered {(int)response.StatusCode} for message {message.MessageId} of thread {message.ThreadId}.");
        }

        using var document = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
        return Map(document.RootElement, connection, message);
    }

    /// <summary>A conversation message as HubSpot's API returns it (fetched alone, or in a thread's page of messages
    /// during a history import), as the payload to deliver; null for what is not the conversation.</summary>
    public static InboxPayload? Map(JsonElement root, Connection connection, HubSpotMessageRef message)
    {
        if (root.String("type") == "COMMENT")
        {
            return null;
        }

        var inbound = root.String("direction") == "INCOMING";

        // The customer is among the senders of what they wrote and the recipients of what was written to them:
        // visitors are "V-{contact id}"; agents ("A-"), bots ("B-"), integrations and the system are not customers.
        string? email = null;
        string? visitor = null;
        if (root.TryGetProperty(inbound ? "senders" : "recipients", out var people) && people.ValueKind == JsonValueKind.Array)
        {
            foreach (var person in people.EnumerateArray())
            {
                if (person.String("actorId") is { } actor && actor.StartsWith("V-", StringComparison.Ordinal))
                {
                    visitor ??= actor[2..];
                }

                var delivery = person.Object("deliveryIdentifier") is { ValueKind: JsonValueKind.Object } one ? one
                    : person.TryGetProperty("deliveryIdentifiers", out var many) && many.ValueKind == JsonValueKind.Array && many.GetArrayLength() > 0 ? many[0]
                    : default;
                if (delivery.String("type") == "HS_EMAIL_ADDRESS" && delivery.String("value") is { Length: > 0 } address)
                {
                    email ??= address;
                }
            }
        }

        // The visitor's contact id, with the thread beside it: a reply whose recipients HubSpot leaves out still finds
        // its customer by the thread. Only the thread where HubSpot names no visitor (an email from an unknown sender).
        var thread = new ExternalIdentity(ThreadProvider(connection), message.ThreadId);
        var (identities, facts) = connection.Identify(visitor is not null ? connection.Contact(visitor) : thread, new CustomerFacts(Email: email));
        if (visitor is not null)
        {
            identities.Add(thread);
        }

        var agent = inbound ? default : root.TryGetProperty("senders", out var senders) && senders.ValueKind == JsonValueKind.Array && senders.GetArrayLength() > 0 ? senders[0] : default;

        var text = root.String("text") ?? Webhook.TextOf(root.String("richText"));
        var interaction = new Interaction(
            $"{Providers.HubSpot}:{connection.Id}",
            message.MessageId,
            ChannelOf(root.String("channelId")),
            inbound ? InteractionDirection.Inbound : InteractionDirection.Outbound,
            text,
            root.Time("createdAt", message.OccurredAt),
            message.ThreadId,
            Author: inbound ? null : agent.String("name") ?? agent.String("actorId"),
            FromBot: !inbound && agent.String("actorId") is { } id && id.StartsWith("B-", StringComparison.Ordinal));
        return new InboxPayload(identities, facts, interaction);
    }

    /// <summary>The namespace of a connection's thread ids, for messages whose sender HubSpot does not name.</summary>
    public static string ThreadProvider(Connection connection) => $"hubspot-thread@{connection.Id}";

    /// <summary>HubSpot's channel ids (1000 live chat, 1001 Messenger, 1002 email, 1007 WhatsApp).</summary>
    private static string ChannelOf(string? channelId) => channelId switch
    {
        "1000" => "chat",
        "1001" => "messenger",
        "1002" => "email",
        "1003" => "form",
        "1007" => "whatsapp",
        _ => "hubspot",
    };
}
