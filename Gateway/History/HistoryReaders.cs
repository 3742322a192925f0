using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using CustomerGrains.Gateway.Crm;
using CustomerGrains.Gateway.Inbox;
using CustomerGrains.Gateway.Tenants;
using CustomerGrains.Gateway.Webhooks;
using CustomerGrains.Grains;

namespace CustomerGrains.Gateway.History;

/// <summary>A CRM conversation found while paging through its list, with what its list entry says about it.</summary>
public sealed record HistoryConversation(string Id, JsonElement Data);

/// <summary>A page of conversations active since the import's start date, and the token of the next (null: the last).</summary>
public sealed record HistoryPage(IReadOnlyList<HistoryConversation> Conversations, string? Next);

/// <summary>
/// A CRM's API for reading past conversations (reference: shared/reference/crm-replies.md, "History"). Messages map
/// to what the connection's webhooks deliver (same interaction source and ids, same identities), so a message that
/// came by webhook and by import is one message.
/// </summary>
public interface IHistoryReader
{
    string Provider { get; }

    /// <summary>The vendor's documented request rate for the lowest plan; <c>Options:RequestsPerMinute</c> overrides it.</summary>
    int DefaultRequestsPerMinute { get; }

    /// <summary>The connection options reading needs that are missing; empty when it can read.</summary>
    IReadOnlyList<string> Missing(Connection connection);

    Task<HistoryPage> ConversationsAsync(CrmCalls api, Connection connection, string? page, DateTimeOffset since, CancellationToken cancellationToken);

    /// <summary>The conversation's messages written since <paramref name="since"/>, both sides, notes left out.</summary>
    Task<IReadOnlyList<InboxEvent>> MessagesAsync(CrmCalls api, Connection connection, HistoryConversation conversation, DateTimeOffset since, CancellationToken cancellationToken);
}

/// <summary>History's own inbox dedupe key: an import and a reconciliation that read the same message queue it once.</summary>
internal static class HistoryKey
{
    public static InboxEvent Event(Interaction interaction, IReadOnlyList<ExternalIdentity> identities, CustomerFacts facts) =>
        new($"history:{interaction.EventId}", identities[0].ToString(), new InboxPayload(identities, facts, interaction));
}

/// <summary>Chatwoot: <c>GET /api/v1/accounts/{AccountId}/conversations?status=all&amp;sort_by=last_activity_at_desc&amp;page=N</c>
/// (25 a page, most recently active first: the list stops at the first conversation older than the start date), then
/// each conversation's messages, 20 at a time backwards with <c>before=</c>. Needs a user's access token: an agent
/// bot's cannot list messages.</summary>
internal sealed class ChatwootHistory(HttpClient http) : IHistoryReader
{
    public string Provider => Providers.Chatwoot;

    public int DefaultRequestsPerMinute => 600; // Rack::Attack allows 3,000/min per IP, shared with the agents' browsers

    public IReadOnlyList<string> Missing(Connection connection) => CrmApi.MissingOf(connection, "ApiBaseUrl", "AccessToken", "AccountId");

    public async Task<HistoryPage> ConversationsAsync(CrmCalls api, Connection connection, string? page, DateTimeOffset since, CancellationToken cancellationToken)
    {
        var number = page is null ? 1 : int.Parse(page, CultureInfo.InvariantCulture);
        var answer = await api.GetAsync(http, $"{Account(connection)}/conversations?status=all&sort_by=last_activity_at_desc&page={number}", Authorize(connection), cancellationToken);
        var list = answer.Object("data").Items("payload").ToList();
        var recent = list.TakeWhile(c => c.Time("last_activity_at", DateTimeOffset.MaxValue) >= since).Select(c => new HistoryConversation(c.Required("id", "A conversation"), c.Clone())).ToList();
        return new HistoryPage(recent, recent.Count == list.Count && list.Count > 0 ? (number + 1).ToString(CultureInfo.InvariantCulture) : null);
    }

    public async Task<IReadOnlyList<InboxEvent>> MessagesAsync(CrmCalls api, Connection connection, HistoryConversation conversation, DateTimeOffset since, CancellationToken cancellationToken)
    {
        var contact = conversation.Data.Object("meta").Object("sender");
        var contactId = contact.Required("id", "The conversation's contact (meta.sender)");
        var (identities, facts) = connection.Identify(contactId, new CustomerFacts(contact.String("name"), contact.String("email"), contact.String("phone_number")));
        var channel = ChatwootProvider.ChannelOf(conversation.Data.Object("meta").String("channel"));
        var events = new List<InboxEvent>();
        string? before = null;
        while (true)
        {
            var answer = await api.GetAsync(http, $"{Account(connection)}/conversations/{Uri.EscapeDataString(conversation.Id)}/messages{(before is null ? "" : $"?before={before}")}",
                Authorize(connection), cancellationToken);
            var messages = answer.Items("payload").ToList();
            if (messages.Count == 0)
            {
                break;
            }

            var older = false;
            foreach (var message in messages) // oldest first
            {
                var at = message.Time("created_at", since);
                older |= at < since;
                // message_type: 0 incoming, 1 outgoing, 2 activity, 3 template; private ones are notes.
                var type = message.String("message_type");
                if (at < since || message.Bool("private") || type is not ("0" or "1" or "3") || string.IsNullOrWhiteSpace(message.String("content")))
                {
                    continue;
                }

                var inbound = type == "0";
                var sender = message.Object("sender");
                events.Add(HistoryKey.Event(
                    new Interaction($"{Providers.Chatwoot}:{connection.Id}", message.Required("id", "A message"), channel,
                        inbound ? InteractionDirection.Inbound : InteractionDirection.Outbound, message.String("content")!, at, conversation.Id,
                        Author: inbound ? null : sender.String("name") ?? sender.String("id"), FromBot: !inbound && sender.String("type") is "agent_bot" or "captain_assistant"),
                    identities, facts));
            }

            if (older || messages.Count < 20)
            {
                break;
            }

            before = messages[0].Required("id", "A message");
        }

        return [.. events.OrderBy(e => e.Payload.Interaction!.OccurredAt)]; // pages came newest first
    }

    private static string Account(Connection connection) => $"{connection.Option("ApiBaseUrl")}/api/v1/accounts/{Uri.EscapeDataString(connection.Option("AccountId"))}";

    private static Action<HttpRequestMessage> Authorize(Connection connection) =>
        request => request.Headers.TryAddWithoutValidation("api_access_token", connection.Option("AccessToken"));
}

/// <summary>Zendesk: tickets updated since the start date through the incremental export
/// (<c>GET /api/v2/incremental/tickets/cursor.json?start_time=</c>, then <c>?cursor=</c> until <c>end_of_stream</c>),
/// then each ticket's comments with their authors (<c>GET /api/v2/tickets/{id}/comments.json?include=users</c>,
/// following <c>next_page</c>). Comments by anyone but the requester are the agents' side; private ones are notes.</summary>
internal sealed class ZendeskHistory(HttpClient http) : IHistoryReader
{
    public string Provider => Providers.Zendesk;

    public int DefaultRequestsPerMinute => 200; // the Team plan's limit

    public IReadOnlyList<string> Missing(Connection connection) =>
        [.. CrmApi.MissingOf(connection, "ApiBaseUrl"), .. connection.Option("AccessToken").Length > 0 ? [] : CrmApi.MissingOf(connection, "Email", "ApiToken")];

    public async Task<HistoryPage> ConversationsAsync(CrmCalls api, Connection connection, string? page, DateTimeOffset since, CancellationToken cancellationToken)
    {
        var query = page is null ? $"start_time={since.ToUnixTimeSeconds()}" : $"cursor={Uri.EscapeDataString(page)}";
        var answer = await api.GetAsync(http, $"{connection.Option("ApiBaseUrl")}/api/v2/incremental/tickets/cursor.json?{query}", Authorize(connection), cancellationToken);
        var tickets = answer.Items("tickets").Where(t => t.String("status") != "deleted").Select(t => new HistoryConversation(t.Required("id", "A ticket"), t.Clone())).ToList();
        return new HistoryPage(tickets, answer.Bool("end_of_stream") ? null : answer.String("after_cursor"));
    }

    public async Task<IReadOnlyList<InboxEvent>> MessagesAsync(CrmCalls api, Connection connection, HistoryConversation conversation, DateTimeOffset since, CancellationToken cancellationToken)
    {
        var requester = conversation.Data.Required("requester_id", "The ticket");
        var identity = connection.Contact(requester);
        var channel = conversation.Data.Object("via").String("channel") ?? "ticket";
        var baseUrl = connection.Option("ApiBaseUrl");
        var events = new List<InboxEvent>();
        string? url = $"{baseUrl}/api/v2/tickets/{Uri.EscapeDataString(conversation.Id)}/comments.json?include=users";
        while (url is not null)
        {
            var answer = await api.GetAsync(http, url, Authorize(connection), cancellationToken);
            var users = answer.Items("users").Where(u => u.String("id") is not null).ToDictionary(u => u.String("id")!, u => u.Clone());
            foreach (var comment in answer.Items("comments"))
            {
                var at = comment.Time("created_at", since);
                var text = comment.String("plain_body") ?? Webhook.TextOf(comment.String("html_body") ?? comment.String("body"));
                if (at < since || !comment.Bool("public") || string.IsNullOrWhiteSpace(text))
                {
                    continue;
                }

                var author = comment.String("author_id");
                var inbound = author == requester;
                var user = author is not null && users.TryGetValue(author, out var known) ? known : default;
                events.Add(HistoryKey.Event(
                    new Interaction($"{Providers.Zendesk}:{connection.Id}", comment.Required("id", "A comment"), channel,
                        inbound ? InteractionDirection.Inbound : InteractionDirection.Outbound, text, at, conversation.Id,
                        Author: inbound ? null : user.String("name") ?? author),
                    [identity], CustomerFacts.None));
            }

            // Only pages of the same Zendesk: a next_page elsewhere would carry the token to another host.
            url = answer.String("next_page") is { } next && next.StartsWith(baseUrl + "/", StringComparison.OrdinalIgnoreCase) ? next : null;
        }

        return events;
    }

    private static Action<HttpRequestMessage> Authorize(Connection connection) => request => request.Headers.Authorization =
        connection.Option("AccessToken") is { Length: > 0 } token
            ? new AuthenticationHeaderValue("Bearer", token)
            : new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{connection.Option("Email")}/token:{connection.Option("ApiToken")}")));
}

/// <summary>Intercom: <c>GET /conversations?per_page=150&amp;starting_after=</c> (the list carries no parts; those
/// updated before the start date are passed over), then <c>GET /conversations/{id}</c> for its parts (up to 500).</summary>
internal sealed class IntercomHistory(HttpClient http) : IHistoryReader
{
    public string Provider => Providers.Intercom;

    public int DefaultRequestsPerMinute => 1000; // private apps: 10,000/min; most of it stays for replies and other apps

    public IReadOnlyList<string> Missing(Connection connection) => CrmApi.MissingOf(connection, "AccessToken");

    public async Task<HistoryPage> ConversationsAsync(CrmCalls api, Connection connection, string? page, DateTimeOffset since, CancellationToken cancellationToken)
    {
        var answer = await api.GetAsync(http, $"{BaseUrl(connection)}/conversations?per_page=150{(page is null ? "" : $"&starting_after={Uri.EscapeDataString(page)}")}",
            Authorize(connection), cancellationToken);
        var conversations = answer.Items("conversations")
            .Where(c => c.Time("updated_at", DateTimeOffset.MaxValue) >= since).Select(c => new HistoryConversation(c.Required("id", "A conversation"), c.Clone())).ToList();
        return new HistoryPage(conversations, answer.Object("pages").Object("next").String("starting_after"));
    }

    public async Task<IReadOnlyList<InboxEvent>> MessagesAsync(CrmCalls api, Connection connection, HistoryConversation conversation, DateTimeOffset since, CancellationToken cancellationToken)
    {
        var full = await api.GetAsync(http, $"{BaseUrl(connection)}/conversations/{Uri.EscapeDataString(conversation.Id)}", Authorize(connection), cancellationToken);
        return [.. IntercomProvider.MapConversation(full, connection, withFirst: true, since, partId => $"history:{conversation.Id}:{partId}")
            .Where(e => e.Payload.Interaction!.OccurredAt >= since)];
    }

    private static string BaseUrl(Connection connection) => connection.Option("ApiBaseUrl", "https://api.intercom.io");

    private static Action<HttpRequestMessage> Authorize(Connection connection) => request =>
    {
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", connection.Option("AccessToken"));
        request.Headers.TryAddWithoutValidation("Intercom-Version", "2.11");
    };
}

/// <summary>HubSpot: threads whose latest message is after the start date
/// (<c>GET /conversations/v3/conversations/threads?sort=latestMessageTimestamp&amp;latestMessageTimestampAfter=&amp;after=</c>),
/// then each thread's messages (<c>GET .../threads/{id}/messages?limit=100&amp;after=</c>), mapped as the webhook's fetch
/// maps one message.</summary>
internal sealed class HubSpotHistory(HttpClient http) : IHistoryReader
{
    public string Provider => Providers.HubSpot;

    public int DefaultRequestsPerMinute => 600; // Free/Starter private apps: 100 per 10 s

    public IReadOnlyList<string> Missing(Connection connection) => CrmApi.MissingOf(connection, "AccessToken");

    public async Task<HistoryPage> ConversationsAsync(CrmCalls api, Connection connection, string? page, DateTimeOffset since, CancellationToken cancellationToken)
    {
        var answer = await api.GetAsync(http,
            $"{Threads(connection)}?limit=100&sort=latestMessageTimestamp&latestMessageTimestampAfter={Uri.EscapeDataString(since.UtcDateTime.ToString("O", CultureInfo.InvariantCulture))}{(page is null ? "" : $"&after={Uri.EscapeDataString(page)}")}",
            Authorize(connection), cancellationToken);
        var threads = answer.Items("results").Select(t => new HistoryConversation(t.Required("id", "A thread"), t.Clone())).ToList();
        return new HistoryPage(threads, answer.Object("paging").Object("next").String("after"));
    }

    public async Task<IReadOnlyList<InboxEvent>> MessagesAsync(CrmCalls api, Connection connection, HistoryConversation conversation, DateTimeOffset since, CancellationToken cancellationToken)
    {
        var events = new List<InboxEvent>();
        string? after = null;
        do
        {
            var answer = await api.GetAsync(http, $"{Threads(connection)}/{Uri.EscapeDataString(conversation.Id)}/messages?limit=100{(after is null ? "" : $"&after={Uri.EscapeDataString(after)}")}",
                Authorize(connection), cancellationToken);
            foreach (var message in answer.Items("results"))
            {
                var at = message.Time("createdAt", since);
                if (at >= since && HubSpotClient.Map(message, connection, new HubSpotMessageRef(conversation.Id, message.Required("id", "A message"), at)) is { Interaction: { } interaction } payload
                    && !string.IsNullOrWhiteSpace(interaction.Text))
                {
                    events.Add(HistoryKey.Event(interaction, payload.Identities, payload.Facts));
                }
            }

            after = answer.Object("paging").Object("next").String("after");
        }
        while (after is not null);

        return events;
    }

    private static string Threads(Connection connection) => $"{connection.Option("ApiBaseUrl", HubSpotClient.DefaultApiBaseUrl)}/conversations/v3/conversations/threads";

    private static Action<HttpRequestMessage> Authorize(Connection connection) =>
        request => request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", connection.Option("AccessToken"));
}
