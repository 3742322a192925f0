using CustomerGrains.Gateway.Tenants;
using CustomerGrains.Grains;

namespace CustomerGrains.Gateway.Webhooks;

/// <summary>
/// Standard Webhooks (standardwebhooks.com) carrying CustomerGrains' own interaction schema, for custom CRMs.
/// Signature: <c>webhook-signature: v1,base64(HMAC-SHA256(secret bytes, "{webhook-id}.{webhook-timestamp}.{body}"))</c>,
/// several space-separated during key rotation; the secret is <c>whsec_&lt;base64&gt;</c>; <c>webhook-id</c> is the
/// idempotency key. The body (documented in README):
/// <code>
/// {"type": "interaction.created",
///  "customer": {"id": "crm-42", "email": "...", "name": "...", "phone": "...", "language": "de", "timezone": "...", "attributes": {...}},
///  "interaction": {"id": "msg-1", "channel": "email", "direction": "inbound", "text": "...", "occurredAt": "...",
///                  "conversationId": "...", "sentiment": 0.4, "author": "Kim (agent)", "bot": false}}
/// </code>
/// Both directions are stored: inbound is the customer's, outbound an agent's (<c>author</c>) or a bot's.
/// </summary>
internal sealed class StandardWebhooksProvider : IWebhookProvider
{
    public string Name => Providers.Standard;

    /// <summary>A POST of <paramref name="payload"/> signed as Standard Webhooks sign: what the gateway sends to a
    /// tenant's own endpoints (escalations, replies to a custom CRM).</summary>
    public static HttpRequestMessage SignedPost(string url, byte[] key, string messageId, DateTimeOffset at, string payload)
    {
        var timestamp = at.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var signature = Convert.ToBase64String(System.Security.Cryptography.HMACSHA256.HashData(key, System.Text.Encoding.UTF8.GetBytes($"{messageId}.{timestamp}.{payload}")));
        var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(payload, System.Text.Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation("webhook-id", messageId);
        request.Headers.TryAddWithoutValidation("webhook-timestamp", timestamp);
        request.Headers.TryAddWithoutValidation("webhook-signature", "v1," + signature);
        return request;
    }

    public static bool TryDecodeSecret(string secret, out byte[] key)
    {
        key = [];
        if (!secret.StartsWith("whsec_", StringComparison.Ordinal))
        {
            return false;
        }

        key = Webhook.FromBase64(secret[6..]) ?? [];
        return key.Length > 0;
    }

    public WebhookRejection? Verify(WebhookRequest request, Connection connection)
    {
        var id = request.Headers["webhook-id"].ToString();
        var timestamp = request.Headers["webhook-timestamp"].ToString();
        var signatures = request.Headers["webhook-signature"].ToString();
        if (id.Length == 0 || timestamp.Length == 0 || signatures.Length == 0)
        {
            return "webhook-id, webhook-timestamp and webhook-signature are required.";
        }

        if (!long.TryParse(timestamp, out var seconds))
        {
            return "webhook-timestamp is not Unix seconds.";
        }

        if (Webhook.StaleReason(DateTimeOffset.FromUnixTimeSeconds(seconds), request.Now) is { } stale)
        {
            return stale;
        }

        var signed = Webhook.Utf8($"{id}.{timestamp}.");
        var presented = signatures.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Where(s => s.StartsWith("v1,", StringComparison.Ordinal))
            .Select(s => Webhook.FromBase64(s[3..]))
            .ToList();
        foreach (var secret in connection.Secrets)
        {
            if (TryDecodeSecret(secret, out var key))
            {
                var expected = Webhook.HmacSha256(key, signed, request.Body);
                if (presented.Any(p => Webhook.SignatureMatches(expected, p)))
                {
                    return null;
                }
            }
        }

        return "No webhook-signature matches the body.";
    }

    public IReadOnlyList<InboxEvent> Map(WebhookRequest request, Connection connection)
    {
        using var document = Webhook.Parse(request.Body);
        var root = document.RootElement;
        var type = root.Required("type", "The event");
        if (type != "interaction.created")
        {
            throw new WebhookPayloadException($"Unknown event type '{type}'; this endpoint takes 'interaction.created'.");
        }

        var customer = root.Object("customer");
        var message = root.Object("interaction");
        if (customer.ValueKind == default || message.ValueKind == default)
        {
            throw new WebhookPayloadException("The event needs a 'customer' object and an 'interaction' object.");
        }

        var customerId = customer.Required("id", "The customer");
        var direction = message.String("direction") ?? "inbound";
        if (direction is not ("inbound" or "outbound"))
        {
            throw new WebhookPayloadException($"interaction.direction must be 'inbound' or 'outbound', not '{direction}'.");
        }

        var text = message.Required("text", "The interaction");
        double? sentiment = message.String("sentiment") is { } s
            ? double.TryParse(s, System.Globalization.CultureInfo.InvariantCulture, out var value) && value is >= -1 and <= 1
                ? value
                : throw new WebhookPayloadException("interaction.sentiment must be a number from -1 to 1.")
            : null;
        var attributes = customer.Object("attributes") is { ValueKind: System.Text.Json.JsonValueKind.Object } a
            ? a.EnumerateObject().Where(p => p.Value.ValueKind is not (System.Text.Json.JsonValueKind.Object or System.Text.Json.JsonValueKind.Array))
                .ToDictionary(p => p.Name, p => a.String(p.Name) ?? "")
            : null;
        var (identities, facts) = connection.Identify(customerId,
            new CustomerFacts(customer.String("name"), customer.String("email"), customer.String("phone"), customer.String("language"), customer.String("timezone"), attributes));
        var interaction = new Interaction(
            $"{Providers.Standard}:{connection.Id}",
            message.Required("id", "The interaction"),
            message.String("channel") ?? "api",
            direction == "outbound" ? InteractionDirection.Outbound : InteractionDirection.Inbound,
            text,
            message.Time("occurredAt", request.Now),
            message.String("conversationId"),
            sentiment,
            Author: direction == "outbound" ? message.String("author") : null,
            FromBot: direction == "outbound" && message.Bool("bot"));
        var webhookId = request.Headers["webhook-id"].ToString();
        return [new InboxEvent($"standard:{connection.Id}:{webhookId}", identities[0].ToString(), new InboxPayload(identities, facts, interaction))];
    }
}
