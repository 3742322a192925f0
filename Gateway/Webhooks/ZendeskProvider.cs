using CustomerGrains.Gateway.Tenants;
using CustomerGrains.Grains;

namespace CustomerGrains.Gateway.Webhooks;

/// <summary>
/// Zendesk webhooks (event subscriptions). Signature: <c>X-Zendesk-Webhook-Signature = base64(HMAC-SHA256(secret,
/// timestamp + body))</c> with <c>X-Zendesk-Webhook-Signature-Timestamp</c> (ISO-8601). Customer messages are public
/// ticket comments not written by staff, and messaging messages from the end user.
/// </summary>
internal sealed class ZendeskProvider : IWebhookProvider
{
    public string Name => Providers.Zendesk;

    public WebhookRejection? Verify(WebhookRequest request, Connection connection)
    {
        var signature = request.Headers["X-Zendesk-Webhook-Signature"].ToString();
        var timestamp = request.Headers["X-Zendesk-Webhook-Signature-Timestamp"].ToString();
        if (signature.Length == 0 || timestamp.Length == 0)
        {
            return "X-Zendesk-Webhook-Signature and X-Zendesk-Webhook-Signature-Timestamp are required.";
        }

        if (!DateTimeOffset.TryParse(timestamp, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var signedAt))
        {
            return "X-Zendesk-Webhook-Signature-Timestamp is not an ISO-8601 time.";
        }

        if (Webhook.StaleReason(signedAt, request.Now) is { } stale)
        {
            return stale;
        }

        var presented = Webhook.FromBase64(signature);
        var signed = Webhook.Utf8(timestamp);
        return connection.Secrets.Any(secret => Webhook.SignatureMatches(Webhook.HmacSha256(secret, signed, request.Body), presented))
            ? null
            : "The X-Zendesk-Webhook-Signature does not match the body.";
    }

    public IReadOnlyList<InboxEvent> Map(WebhookRequest request, Connection connection)
    {
        using var document = Webhook.Parse(request.Body);
        var root = document.RootElement;
        var type = root.Required("type", "The Zendesk event");
        var eventId = root.Required("id", "The Zendesk event");
        var account = root.String("account_id") ?? "0";
        var detail = root.Object("detail");
        var body = root.Object("event");
        var occurredAt = root.Time("time", request.Now);
        string customerId, messageId, text, channel;
        string? conversation;
        switch (type)
        {
            case "zen:event-type:ticket.comment_added":
                var comment = body.Object("comment");
                var author = comment.Object("author");
                var requester = detail.Required("requester_id", "The ticket");
                if (!comment.Bool("is_public") || author.Bool("is_staff") || (author.String("id") is { } authorId && authorId != requester))
                {
                    return []; // internal notes and agents' replies
                }

                (customerId, messageId, text) = (requester, comment.Required("id", "The comment"), Webhook.TextOf(comment.String("body")));
                channel = detail.Object("via").String("channel") ?? "ticket";
                conversation = detail.String("id");
                break;
            case "zen:event-type:messaging_ticket.message_added":
                var actor = body.Object("actor");
                if (actor.String("type") != "user")
                {
                    return []; // agents and bots
                }

                var message = body.Object("message");
                (customerId, messageId, text) = (detail.String("requester_id") ?? actor.Required("id", "The message actor"), message.Required("id", "The message"), message.String("body") ?? "");
                channel = "messaging";
                conversation = body.String("conversation_id");
                break;
            default:
                return [];
        }

        if (string.IsNullOrWhiteSpace(text))
        {
            return [];
        }

        var interaction = new Interaction($"{Providers.Zendesk}:{connection.Id}", messageId, channel, InteractionDirection.Inbound, text, occurredAt, conversation);
        var identity = connection.Contact(customerId);
        return [new InboxEvent($"zendesk:{account}:{eventId}", identity.ToString(), new InboxPayload([identity], CustomerFacts.None, interaction))];
    }
}
