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

    /// <summary>The payload to deliver, or null when the message is not the customer's (an outgoing reply).</summary>
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
        var root = document.RootElement;
        if (root.String("direction") != "INCOMING")
        {
            return null;
        }

        string? email = null;
        string? visitor = null;
        if (root.TryGetProperty("senders", out var senders) && senders.ValueKind == JsonValueKind.Array)
        {
            foreach (var sender in senders.EnumerateArray())
            {
                // Visitors are "V-{contact id}"; agents ("A-"), bots and systems are not customers.
                if (sender.String("actorId") is { } actor && actor.StartsWith("V-", StringComparison.Ordinal))
                {
                    visitor ??= actor[2..];
                }

                var delivery = sender.Object("deliveryIdentifier");
                if (delivery.String("type") == "HS_EMAIL_ADDRESS" && delivery.String("value") is { Length: > 0 } address)
                {
                    email ??= address;
                }
            }
        }

        // The visitor's contact id, or the thread where HubSpot names no visitor (an email from an unknown sender).
        var (identities, facts) = connection.Identify(
            visitor is not null ? connection.Contact(visitor) : new ExternalIdentity(ThreadProvider(connection), message.ThreadId),
            new CustomerFacts(Email: email));

        var text = root.String("text") ?? Webhook.TextOf(root.String("richText"));
        var interaction = new Interaction(
            $"{Providers.HubSpot}:{connection.Id}",
            message.MessageId,
            ChannelOf(root.String("channelId")),
            InteractionDirection.Inbound,
            text,
            root.Time("createdAt", message.OccurredAt),
            message.ThreadId);
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
