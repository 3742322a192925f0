using System.Text.Json;
using CustomerGrains.Gateway.Tenants;
using CustomerGrains.Grains;

namespace CustomerGrains.Gateway.Webhooks;

/// <summary>
/// Chatwoot account webhooks. Signature: <c>X-Chatwoot-Signature: sha256=hex(HMAC-SHA256(secret, "{timestamp}.{body}"))</c>
/// with <c>X-Chatwoot-Timestamp</c> in Unix seconds. <c>message_created</c> events are the conversation: <c>incoming</c>
/// messages the customer's, <c>outgoing</c> and <c>template</c> ones the agents' or a bot's (<c>sender.type</c> user or
/// agent_bot). Private notes (<c>private: true</c>, which Chatwoot sends too) and activity messages are not.
/// </summary>
internal sealed class ChatwootProvider : IWebhookProvider
{
    public string Name => Providers.Chatwoot;

    public WebhookRejection? Verify(WebhookRequest request, Connection connection)
    {
        var signature = request.Headers["X-Chatwoot-Signature"].ToString();
        var timestamp = request.Headers["X-Chatwoot-Timestamp"].ToString();
        if (signature.Length == 0 || timestamp.Length == 0)
        {
            return "X-Chatwoot-Signature and X-Chatwoot-Timestamp are required (Chatwoot versions that do not sign webhooks are not accepted).";
        }

        if (!long.TryParse(timestamp, out var seconds))
        {
            return "X-Chatwoot-Timestamp is not Unix seconds.";
        }

        if (Webhook.StaleReason(DateTimeOffset.FromUnixTimeSeconds(seconds), request.Now) is { } stale)
        {
            return stale;
        }

        var presented = Webhook.FromHex(signature.StartsWith("sha256=", StringComparison.Ordinal) ? signature[7..] : null);
        var signed = Webhook.Utf8(timestamp + ".");
        return connection.Secrets.Any(secret => Webhook.SignatureMatches(Webhook.HmacSha256(secret, signed, request.Body), presented))
            ? null
            : "The X-Chatwoot-Signature does not match the body.";
    }

    public IReadOnlyList<InboxEvent> Map(WebhookRequest request, Connection connection)
    {
        using var document = Webhook.Parse(request.Body);
        var root = document.RootElement;
        var kind = root.Required("event", "The Chatwoot webhook");
        var direction = root.String("message_type") switch
        {
            "incoming" => InteractionDirection.Inbound,
            "outgoing" or "template" => InteractionDirection.Outbound,
            _ => (InteractionDirection?)null, // activity messages ("conversation resolved")
        };
        if (kind != "message_created" || direction is null || root.Bool("private"))
        {
            return []; // conversation events, activity messages, internal notes
        }

        var messageId = root.Required("id", "The message");
        var conversation = root.Object("conversation");
        var sender = root.Object("sender");
        var contactId = (sender.String("type") is null or "contact" ? sender.String("id") : null)
            ?? conversation.Object("contact_inbox").String("contact_id")
            ?? throw new WebhookPayloadException("The message names no contact (sender.id or conversation.contact_inbox.contact_id).");
        var text = root.String("content");
        if (string.IsNullOrWhiteSpace(text))
        {
            return []; // attachments only
        }

        var inbound = direction == InteractionDirection.Inbound;
        var interaction = new Interaction(
            $"{Providers.Chatwoot}:{connection.Id}",
            messageId,
            ChannelOf(conversation.String("channel")),
            direction.Value,
            text,
            root.Time("created_at", request.Now),
            conversation.String("id"),
            Author: inbound ? null : sender.String("name") ?? sender.String("id"),
            FromBot: !inbound && sender.String("type") is "agent_bot" or "captain_assistant");

        // What the sender says of themselves describes the customer only when the customer sent it.
        var (identities, facts) = inbound
            ? connection.Identify(contactId, new CustomerFacts(sender.String("name"), sender.String("email"), sender.String("phone_number")))
            : ([connection.Contact(contactId)], CustomerFacts.None);
        var account = root.Object("account").String("id") ?? "0";
        return [new InboxEvent($"chatwoot:{account}:message:{messageId}", identities[0].ToString(), new InboxPayload(identities, facts, interaction))];
    }

    /// <summary>Chatwoot channel class names (<c>Channel::WebWidget</c>) to channel names.</summary>
    internal static string ChannelOf(string? channel) => channel switch
    {
        "Channel::WebWidget" => "web",
        "Channel::Email" => "email",
        "Channel::Whatsapp" => "whatsapp",
        "Channel::Sms" or "Channel::TwilioSms" => "sms",
        "Channel::Telegram" => "telegram",
        "Channel::FacebookPage" => "messenger",
        "Channel::Api" => "api",
        null => "chat",
        _ => channel.Replace("Channel::", "", StringComparison.Ordinal).ToLowerInvariant(),
    };
}
