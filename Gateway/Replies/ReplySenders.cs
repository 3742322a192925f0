using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CustomerGrains.Gateway.Crm;
using CustomerGrains.Gateway.Tenants;
using CustomerGrains.Gateway.Webhooks;

namespace CustomerGrains.Gateway.Replies;

/// <summary>A CRM's API for putting an agent's reply into a conversation (reference: shared/reference/crm-replies.md).</summary>
public interface IReplySender
{
    string Provider { get; }

    /// <summary>The connection options sending needs that are missing; empty when it can send.</summary>
    IReadOnlyList<string> Missing(Connection connection);

    /// <summary>Sends the reply and returns the CRM's id for the message, in the form its webhook echo carries, so
    /// the echo is recognised as this reply. Throws <see cref="CrmApiException"/> when the CRM does not take it.</summary>
    Task<string> SendAsync(Connection connection, OutboxReply reply, CancellationToken cancellationToken);
}

/// <summary>Chatwoot: <c>POST {ApiBaseUrl}/api/v1/accounts/{AccountId}/conversations/{id}/messages</c> with the
/// <c>api_access_token</c> header; the new message's id is the webhook's.</summary>
internal sealed class ChatwootReplies(HttpClient http, TimeProvider time) : IReplySender
{
    public string Provider => Providers.Chatwoot;

    public IReadOnlyList<string> Missing(Connection connection) => CrmApi.MissingOf(connection, "ApiBaseUrl", "AccessToken", "AccountId");

    public async Task<string> SendAsync(Connection connection, OutboxReply reply, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post,
            $"{connection.Option("ApiBaseUrl")}/api/v1/accounts/{Uri.EscapeDataString(connection.Option("AccountId"))}/conversations/{Uri.EscapeDataString(reply.ConversationId)}/messages")
        {
            Content = CrmApi.Json(new { content = reply.Text, message_type = "outgoing", @private = reply.Private }),
        };
        request.Headers.TryAddWithoutValidation("api_access_token", connection.Option("AccessToken"));
        return CrmApi.Id(await CrmApi.SendAsync(http, request, "Chatwoot", time, cancellationToken));
    }
}

/// <summary>Zendesk: a comment on the ticket, <c>PUT {ApiBaseUrl}/api/v2/tickets/{id}.json</c>, as an agent (API token
/// of <c>Email</c>, or an OAuth <c>AccessToken</c>); the comment's id comes in the audit's Comment event.</summary>
internal sealed class ZendeskReplies(HttpClient http, TimeProvider time) : IReplySender
{
    public string Provider => Providers.Zendesk;

    public IReadOnlyList<string> Missing(Connection connection) =>
        [.. CrmApi.MissingOf(connection, "ApiBaseUrl"), .. connection.Option("AccessToken").Length > 0 ? [] : CrmApi.MissingOf(connection, "Email", "ApiToken")];

    public async Task<string> SendAsync(Connection connection, OutboxReply reply, CancellationToken cancellationToken)
    {
        long? author = long.TryParse(connection.Option("AuthorId"), out var id) ? id : null;
        using var request = new HttpRequestMessage(HttpMethod.Put, $"{connection.Option("ApiBaseUrl")}/api/v2/tickets/{Uri.EscapeDataString(reply.ConversationId)}.json")
        {
            Content = CrmApi.Json(new { ticket = new { comment = new { body = reply.Text, @public = !reply.Private, author_id = author } } }),
        };
        request.Headers.Authorization = connection.Option("AccessToken") is { Length: > 0 } token
            ? new AuthenticationHeaderValue("Bearer", token)
            : new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{connection.Option("Email")}/token:{connection.Option("ApiToken")}")));
        var answer = await CrmApi.SendAsync(http, request, "Zendesk", time, cancellationToken);
        return answer.TryGetProperty("audit", out var audit) && audit.TryGetProperty("events", out var events) && events.ValueKind == JsonValueKind.Array
               && events.EnumerateArray().FirstOrDefault(e => e.TryGetProperty("type", out var type) && type.GetString() == "Comment") is { ValueKind: JsonValueKind.Object } comment
            ? CrmApi.Id(comment)
            : throw new CrmApiException("Zendesk took the comment but named no Comment event in its audit.", null);
    }
}

/// <summary>Intercom: <c>POST {ApiBaseUrl}/conversations/{id}/reply</c> as the admin <c>AdminId</c>; the reply is the
/// last part of the conversation it returns, named as the webhook names parts (<c>{conversation}:{part}</c>).</summary>
internal sealed class IntercomReplies(HttpClient http, TimeProvider time) : IReplySender
{
    public string Provider => Providers.Intercom;

    public IReadOnlyList<string> Missing(Connection connection) => CrmApi.MissingOf(connection, "AccessToken", "AdminId");

    public async Task<string> SendAsync(Connection connection, OutboxReply reply, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{connection.Option("ApiBaseUrl", "https://api.intercom.io")}/conversations/{Uri.EscapeDataString(reply.ConversationId)}/reply")
        {
            Content = CrmApi.Json(new { message_type = reply.Private ? "note" : "comment", type = "admin", admin_id = connection.Option("AdminId"), body = reply.Text }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", connection.Option("AccessToken"));
        request.Headers.TryAddWithoutValidation("Intercom-Version", "2.11");
        var conversation = await CrmApi.SendAsync(http, request, "Intercom", time, cancellationToken);
        return conversation.TryGetProperty("conversation_parts", out var parts) && parts.TryGetProperty("conversation_parts", out var list)
               && list.ValueKind == JsonValueKind.Array && list.GetArrayLength() > 0
            ? $"{reply.ConversationId}:{CrmApi.Id(list[list.GetArrayLength() - 1])}"
            : throw new CrmApiException("Intercom took the reply but returned no conversation part.", null);
    }
}

/// <summary>HubSpot: <c>POST {ApiBaseUrl}/conversations/v3/conversations/threads/{id}/messages</c> from the actor
/// <c>SenderActorId</c> (an <c>A-</c> user), on the channel the thread started on (read from the thread first).</summary>
internal sealed class HubSpotReplies(HttpClient http, TimeProvider time) : IReplySender
{
    public string Provider => Providers.HubSpot;

    public IReadOnlyList<string> Missing(Connection connection) => CrmApi.MissingOf(connection, "AccessToken", "SenderActorId");

    public async Task<string> SendAsync(Connection connection, OutboxReply reply, CancellationToken cancellationToken)
    {
        var threads = $"{connection.Option("ApiBaseUrl", Inbox.HubSpotClient.DefaultApiBaseUrl)}/conversations/v3/conversations/threads/{Uri.EscapeDataString(reply.ConversationId)}";
        using var read = new HttpRequestMessage(HttpMethod.Get, threads);
        read.Headers.Authorization = new AuthenticationHeaderValue("Bearer", connection.Option("AccessToken"));
        var thread = await CrmApi.SendAsync(http, read, "HubSpot", time, cancellationToken);

        using var request = new HttpRequestMessage(HttpMethod.Post, $"{threads}/messages")
        {
            Content = CrmApi.Json(new
            {
                type = reply.Private ? "COMMENT" : "MESSAGE",
                text = reply.Text,
                senderActorId = connection.Option("SenderActorId"),
                channelId = thread.TryGetProperty("originalChannelId", out var channel) ? channel.ToString() : null,
                channelAccountId = thread.TryGetProperty("originalChannelAccountId", out var account) ? account.ToString() : null,
            }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", connection.Option("AccessToken"));
        return CrmApi.Id(await CrmApi.SendAsync(http, request, "HubSpot", time, cancellationToken));
    }
}

/// <summary>A custom CRM: a <c>reply.created</c> Standard Webhook, signed with the connection's secret, to its
/// <c>ReplyUrl</c>. The CRM answers <c>{"id": "..."}</c> with its id for the message (the one its own webhook echo
/// will carry); without one, the reply's id stands for it.</summary>
internal sealed class StandardReplies(HttpClient http, TimeProvider time) : IReplySender
{
    public string Provider => Providers.Standard;

    public IReadOnlyList<string> Missing(Connection connection) => CrmApi.MissingOf(connection, "ReplyUrl");

    public async Task<string> SendAsync(Connection connection, OutboxReply reply, CancellationToken cancellationToken)
    {
        StandardWebhooksProvider.TryDecodeSecret(connection.Secrets[0], out var key);
        var payload = JsonSerializer.Serialize(new
        {
            type = "reply.created",
            reply = new { id = reply.ReplyId, conversationId = reply.ConversationId, text = reply.Text, @private = reply.Private, sentBy = reply.SentBy, customerId = reply.CustomerId },
        });
        using var request = StandardWebhooksProvider.SignedPost(connection.Option("ReplyUrl"), key, reply.ReplyId, time.GetUtcNow(), payload);
        var answer = await CrmApi.SendAsync(http, request, "The CRM", time, cancellationToken);
        return CrmApi.Id(answer) is { Length: > 0 } id ? id : reply.ReplyId;
    }
}
