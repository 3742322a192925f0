using System.Text.Json;
using CustomerGrains.Gateway.Tenants;

namespace CustomerGrains.Gateway.Webhooks;

/// <summary>
/// HubSpot webhooks (v3 signatures): <c>X-HubSpot-Signature-v3 = base64(HMAC-SHA256(client secret, method + URI +
/// body + timestamp))</c> with <c>X-HubSpot-Request-Timestamp</c> in milliseconds. The body is an array of events
/// without message text; <c>conversation.newMessage</c> events of type MESSAGE (not internal COMMENTs) are stored
/// and their text is fetched from HubSpot's API during delivery, never before acknowledging.
/// </summary>
internal sealed class HubSpotProvider : IWebhookProvider
{
    public string Name => Providers.HubSpot;

    public WebhookRejection? Verify(WebhookRequest request, Connection connection)
    {
        var signature = request.Headers["X-HubSpot-Signature-v3"].ToString();
        var timestamp = request.Headers["X-HubSpot-Request-Timestamp"].ToString();
        if (signature.Length == 0 || timestamp.Length == 0)
        {
            return "X-HubSpot-Signature-v3 and X-HubSpot-Request-Timestamp are required.";
        }

        if (!long.TryParse(timestamp, out var milliseconds))
        {
            return "X-HubSpot-Request-Timestamp is not Unix milliseconds.";
        }

        if (Webhook.StaleReason(DateTimeOffset.FromUnixTimeMilliseconds(milliseconds), request.Now) is { } stale)
        {
            return stale;
        }

        // The URI HubSpot called; behind a proxy that rewrites it, the connection's PublicUrl says what it was.
        var uri = connection.Options.TryGetValue("PublicUrl", out var publicUrl) ? publicUrl : request.Url.ToString();
        var signed = Webhook.Utf8(request.Method + uri);
        var presented = Webhook.FromBase64(signature);
        return connection.Secrets.Any(secret => Webhook.SignatureMatches(Webhook.HmacSha256(secret, signed, request.Body, Webhook.Utf8(timestamp)), presented))
            ? null
            : "The X-HubSpot-Signature-v3 does not match the request.";
    }

    public IReadOnlyList<InboxEvent> Map(WebhookRequest request, Connection connection)
    {
        using var document = Webhook.Parse(request.Body);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Array)
        {
            throw new WebhookPayloadException("A HubSpot webhook body is a JSON array of events.");
        }

        var events = new List<InboxEvent>();
        foreach (var item in root.EnumerateArray())
        {
            if (item.String("subscriptionType") != "conversation.newMessage" || item.String("messageType") is "COMMENT")
            {
                continue; // property changes and internal comments
            }

            var portal = item.Required("portalId", "The event");
            var thread = item.Required("objectId", "The event");
            var message = item.Required("messageId", "The conversation.newMessage event");
            var occurredAt = item.Time("occurredAt", request.Now, milliseconds: true);

            // eventId is not guaranteed unique (HubSpot's docs): the dedupe key is built from what is.
            var dedupe = $"hubspot:{portal}:{item.String("subscriptionId")}:{thread}:{occurredAt.ToUnixTimeMilliseconds()}:{message}";
            events.Add(new InboxEvent(dedupe, $"{Inbox.HubSpotClient.ThreadProvider(connection)}:{thread}", new InboxPayload([], Grains.CustomerFacts.None, null, new HubSpotMessageRef(thread, message, occurredAt))));
        }

        return events;
    }
}
