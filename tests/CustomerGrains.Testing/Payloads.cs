using System.Text.Json;

namespace CustomerGrains.Testing;

/// <summary>Realistic bodies per vendor, shaped after their documented webhook formats (field names as the vendors send them).</summary>
public static class Payloads
{
    public static string Chatwoot(int messageId, int contactId, string text, string messageType = "incoming", bool isPrivate = false, string? email = null, string name = "Ann Lee") =>
        Json(new
        {
            @event = "message_created",
            id = messageId,
            content = text,
            created_at = "2026-11-20T10:00:00Z",
            message_type = messageType,
            @private = isPrivate,
            content_type = "text",
            // An outgoing message's sender is the agent (type user) or a bot (agent_bot); the contact is the conversation's.
            sender = messageType == "incoming"
                ? new { id = contactId, name, email, phone_number = (string?)"+491701234567", type = "contact" }
                : new { id = 7, name = messageType == "template" ? "Welcome bot" : "Kim (agent)", email = (string?)null, phone_number = (string?)null, type = messageType == "template" ? "agent_bot" : "user" },
            inbox = new { id = 3, name = "Website" },
            account = new { id = 1, name = "Acme" },
            conversation = new { id = 77, channel = "Channel::WebWidget", status = "open", contact_inbox = new { contact_id = contactId } },
        });

    public static string Zendesk(string eventId, long commentId, long requesterId, string text, bool isPublic = true, bool byStaff = false) =>
        Json(new
        {
            type = "zen:event-type:ticket.comment_added",
            account_id = 12345,
            id = eventId,
            time = "2026-11-20T10:00:00Z",
            zendesk_event_version = "2022-11-06",
            subject = "zen:ticket:501",
            detail = new { id = "501", requester_id = $"{requesterId}", status = "OPEN", via = new { channel = "email" } },
            @event = new
            {
                comment = new
                {
                    id = $"{commentId}",
                    body = text,
                    is_public = isPublic,
                    author = new { id = byStaff ? "999" : $"{requesterId}", is_staff = byStaff, name = byStaff ? "Kim (agent)" : "Someone" },
                },
            },
        });

    public static string Intercom(string conversationId, string contactId, string partId, string text, string authorType = "user", string partType = "comment", DateTimeOffset? sentAt = null) =>
        Json(new
        {
            type = "notification_event",
            app_id = "abc123",
            id = $"notif_{partId}",
            topic = authorType is "admin" or "bot" ? (partType == "note" ? "conversation.admin.noted" : "conversation.admin.replied") : "conversation.user.replied",
            delivery_attempts = 1,
            created_at = (sentAt ?? DateTimeOffset.UtcNow).ToUnixTimeSeconds(),
            data = new
            {
                type = "notification_event_data",
                item = new
                {
                    type = "conversation",
                    id = conversationId,
                    created_at = 1795200000,
                    contacts = new { type = "contact.list", contacts = new[] { new { type = "contact", id = contactId, external_id = "ext-9" } } },
                    source = new { type = "conversation", id = "src1", delivered_as = "customer_initiated", body = "<p>First</p>", author = new { type = "user", id = contactId } },
                    conversation_parts = new
                    {
                        type = "conversation_part.list",
                        conversation_parts = new[]
                        {
                            new { type = "conversation_part", id = partId, part_type = partType, body = $"<p>{text}</p>", created_at = 1795200100, author = new { type = authorType, id = authorType == "user" ? contactId : "admin-5", name = authorType == "user" ? "Ann" : "Kim (agent)" } },
                        },
                    },
                },
            },
        });

    public static string HubSpot(long threadId, string messageId, long occurredAtMs, string messageType = "MESSAGE") =>
        Json(new[]
        {
            new
            {
                eventId = 1717,
                subscriptionId = 4242,
                portalId = 62515,
                appId = 1160452,
                occurredAt = occurredAtMs,
                subscriptionType = "conversation.newMessage",
                attemptNumber = 0,
                objectId = threadId,
                messageId,
                messageType,
                changeFlag = "NEW_MESSAGE",
            },
        });

    public static string HubSpotMessage(string messageId, string text, string direction = "INCOMING", string contactId = "901", string? email = null) =>
        Json(new
        {
            type = "MESSAGE",
            id = messageId,
            text,
            direction,
            channelId = "1000",
            channelAccountId = "2",
            createdAt = "2026-11-20T10:00:00Z",
            senders = new[]
            {
                new
                {
                    actorId = direction == "INCOMING" ? $"V-{contactId}" : "A-1",
                    name = direction == "INCOMING" ? "Ann" : "Kim (agent)",
                    deliveryIdentifier = email is null ? null : new { type = "HS_EMAIL_ADDRESS", value = email },
                },
            },
            recipients = direction == "INCOMING" ? [] : new[] { new { actorId = $"V-{contactId}" } },
        });

    public static string Standard(string customerId, string interactionId, string text, string? email = null, string direction = "inbound", string name = "Bo Chen") =>
        Json(new
        {
            type = "interaction.created",
            customer = new { id = customerId, email, name, language = "en", attributes = new { plan = "pro", lifetime_value = "1500" } },
            interaction = new { id = interactionId, channel = "email", direction, text, occurredAt = "2026-11-20T10:00:00Z", conversationId = $"t-{customerId}", sentiment = 0.5, author = direction == "outbound" ? "Kim (agent)" : null },
        });

    private static string Json(object value) => JsonSerializer.Serialize(value);
}
