using CustomerGrains.Gateway.Tenants;
using CustomerGrains.Grains;

namespace CustomerGrains.Gateway.Webhooks;

/// <summary>
/// Zendesk webhooks (event subscriptions). Signature: <c>X-Zendesk-Webhook-Signature = base64(HMAC-SHA256(secret,
/// timestamp + body))</c> with <c>X-Zendesk-Webhook-Signature-Timestamp</c> (ISO-8601). Public ticket comments are the
/// conversation: the requester's inbound, staff's (or anyone else's) outbound; private comments are internal notes
/// and are not kept. Messaging messages: the end user's inbound, an agent's outbound, a trigger's or the system's
/// outbound from a bot.
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
        string? conversation, author = null;
        var direction = InteractionDirection.Inbound;
        var bot = false;
        switch (type)
        {
            case "zen:event-type:ticket.comment_added":
                var comment = body.Object("comment");
                var commentAuthor = comment.Object("author");
                var requester = detail.Required("requester_id", "The ticket");
                if (!comment.Bool("is_public"))
                {
                    return []; // internal notes
                }

                if (commentAuthor.Bool("is_staff") || (commentAuthor.String("id") is { } authorId && authorId != requester))
                {
                    (direction, author) = (InteractionDirection.Outbound, commentAuthor.String("name") ?? commentAuthor.String("id"));
                }

                (customerId, messageId, text) = (requester, comment.Required("id", "The comment"), Webhook.TextOf(comment.String("body")));
                channel = detail.Object("via").String("channel") ?? "ticket";
                conversation = detail.String("id");
                break;
            case "zen:event-type:messaging_ticket.message_added":
                var actor = body.Object("actor");
                switch (actor.String("type"))
                {
                    case "user" or "end_user":
                        break;
                    case "agent":
                        (direction, author) = (InteractionDirection.Outbound, actor.String("name") ?? actor.String("id"));
                        break;
                    case "trigger" or "system" or "bot":
                        (direction, bot, author) = (InteractionDirection.Outbound, true, actor.String("name"));
                        break;
                    default:
                        return [];
                }

                var message = body.Object("message");
                (customerId, messageId, text) = (detail.String("requester_id") ?? (direction == InteractionDirection.Inbound ? actor.String("id") : null)
                    ?? throw new WebhookPayloadException("The ticket names no requester (detail.requester_id)."), message.Required("id", "The message"), message.String("body") ?? "");
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

        var interaction = new Interaction($"{Providers.Zendesk}:{connection.Id}", messageId, channel, direction, text, occurredAt, conversation, Author: author, FromBot: bot);
        var identity = connection.Contact(customerId);
        return [new InboxEvent($"zendesk:{account}:{eventId}", identity.ToString(), new InboxPayload([identity], CustomerFacts.None, interaction))];
    }
}
