using System.Text.Json;
using CustomerGrains.Gateway.Tenants;
using CustomerGrains.Grains;

namespace CustomerGrains.Gateway.Webhooks;

/// <summary>
/// Intercom webhooks. Signature: <c>X-Hub-Signature: sha1=hex(HMAC-SHA1(client secret, body))</c>. Intercom signs no
/// timestamp header: the body's <c>created_at</c> bounds a replay (<see cref="MaxAge"/>), and the inbox's dedupe key
/// refuses one within it. The conversation is the first message of a conversation a user started, the comment parts
/// users and leads write (inbound), and the comment parts admins and bots write (outbound:
/// <c>conversation.admin.replied</c>). Notes (<c>part_type: note</c>, <c>conversation.admin.noted</c>) are not kept.
/// </summary>
internal sealed class IntercomProvider : IWebhookProvider
{
    private static readonly HashSet<string> CustomerAuthors = ["user", "lead", "contact"];
    private static readonly HashSet<string> Agents = ["admin", "bot", "team"];

    public string Name => Providers.Intercom;

    public WebhookRejection? Verify(WebhookRequest request, Connection connection)
    {
        var signature = request.Headers["X-Hub-Signature"].ToString();
        if (!signature.StartsWith("sha1=", StringComparison.Ordinal))
        {
            return "X-Hub-Signature (sha1=...) is required.";
        }

        var presented = Webhook.FromHex(signature[5..]);
        if (!connection.Secrets.Any(secret => Webhook.SignatureMatches(Webhook.HmacSha1(secret, request.Body), presented)))
        {
            return "The X-Hub-Signature does not match the body.";
        }

        // No signed header, but the signed body carries the notification's creation time: a captured delivery
        // cannot be replayed after MaxAge, when its dedupe key may be long gone from the inbox.
        using var document = Webhook.Parse(request.Body);
        return document.RootElement.String("created_at") is { } created && long.TryParse(created, out var seconds)
            ? Webhook.StaleReason(DateTimeOffset.FromUnixTimeSeconds(seconds), request.Now, MaxAge)
            : "The notification has no created_at (Unix seconds).";
    }

    /// <summary>How old an Intercom notification may be (Intercom retries a failed delivery within minutes).</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromHours(1);

    public IReadOnlyList<InboxEvent> Map(WebhookRequest request, Connection connection)
    {
        using var document = Webhook.Parse(request.Body);
        var root = document.RootElement;
        var topic = root.Required("topic", "The Intercom notification");
        if (topic is not ("conversation.user.created" or "conversation.user.replied" or "conversation.admin.replied"))
        {
            return []; // ping, contact topics, admins' notes, assignments
        }

        var item = root.Object("data").Object("item");
        var app = root.String("app_id") ?? "0";
        return MapConversation(item, connection, topic == "conversation.user.created", request.Now, partId => $"intercom:{app}:{item.String("id")}:{partId}");
    }

    /// <summary>A conversation's customer-facing messages: its first message (when <paramref name="withFirst"/> and a
    /// customer wrote it) and its comment parts; each under the id history imports and webhooks share.</summary>
    internal static List<InboxEvent> MapConversation(JsonElement item, Connection connection, bool withFirst, DateTimeOffset now, Func<string, string> dedupeKey)
    {
        var conversationId = item.Required("id", "The conversation");
        var contacts = item.Object("contacts");
        var contact = contacts.TryGetProperty("contacts", out var list) && list.ValueKind == JsonValueKind.Array && list.GetArrayLength() > 0
            ? list[0]
            : throw new WebhookPayloadException("The conversation names no contact (contacts.contacts).");
        var contactId = contact.Required("id", "The contact");
        var identities = new List<ExternalIdentity> { connection.Contact(contactId) };
        var source = $"{Providers.Intercom}:{connection.Id}";
        var events = new List<InboxEvent>();

        if (withFirst && item.Object("source") is { ValueKind: JsonValueKind.Object } first
            && CustomerAuthors.Contains(first.Object("author").String("type") ?? "user"))
        {
            var id = first.String("id") ?? "first";
            AddEvent(id, Webhook.TextOf(first.String("body")), item.Time("created_at", now), first.String("delivered_as") ?? "chat", first.Object("author"));
        }

        if (item.Object("conversation_parts") is { ValueKind: JsonValueKind.Object } parts
            && parts.TryGetProperty("conversation_parts", out var partList) && partList.ValueKind == JsonValueKind.Array)
        {
            foreach (var part in partList.EnumerateArray())
            {
                var author = part.Object("author");
                if (part.String("part_type") == "comment" && (CustomerAuthors.Contains(author.String("type") ?? "") || Agents.Contains(author.String("type") ?? "")))
                {
                    AddEvent(part.Required("id", "The conversation part"), Webhook.TextOf(part.String("body")), part.Time("created_at", now), "chat", author);
                }
            }
        }

        return events;

        void AddEvent(string partId, string text, DateTimeOffset at, string channel, JsonElement author)
        {
            if (text.Length == 0)
            {
                return;
            }

            var type = author.String("type") ?? "user";
            var interaction = CustomerAuthors.Contains(type)
                ? new Interaction(source, $"{conversationId}:{partId}", channel, InteractionDirection.Inbound, text, at, conversationId)
                : new Interaction(source, $"{conversationId}:{partId}", channel, InteractionDirection.Outbound, text, at, conversationId,
                    Author: author.String("name") ?? author.String("id"), FromBot: type == "bot");
            events.Add(new InboxEvent(dedupeKey(partId), identities[0].ToString(), new InboxPayload(identities, CustomerFacts.None, interaction)));
        }
    }
}
