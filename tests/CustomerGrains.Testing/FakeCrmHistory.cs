using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace CustomerGrains.Testing;

/// <summary>
/// Four CRMs' history APIs on one loopback port, over one set of conversations, shaped and paged as the vendors document
/// them (shared/reference/crm-replies.md, "History"), not as the project's readers call them: Chatwoot's conversation
/// list (page=N, 25 a page, most recently active first) and messages (latest 20, before=), Zendesk's incremental ticket
/// export (start_time, then cursor until end_of_stream) and ticket comments with side-loaded users (next_page), Intercom's
/// conversation list (starting_after) and conversation with its parts, HubSpot's threads (after, latestMessageTimestampAfter)
/// and their messages (after). Each checks its vendor's credentials. It counts requests and can be told to answer the
/// next ones with failures (429 with the vendor's way of saying when to come back, or any other status).
/// </summary>
public sealed class FakeCrmHistory : IAsyncDisposable
{
    public const string Token = "history-access-token-0123456789";
    public const string ZendeskEmail = "importer@acme.test";
    private readonly WebApplication _app;
    private readonly List<Conversation> _conversations = [];
    private readonly Lock _lock = new();

    private FakeCrmHistory(WebApplication app) => _app = app;

    public enum Kind { Customer, Agent, Bot, Note }

    public sealed record Message(long Id, Kind Kind, string Text, DateTimeOffset At, string? Author = null);

    public sealed record Conversation(long Id, long ContactId, string ContactName, string? ContactEmail, List<Message> Messages)
    {
        public DateTimeOffset LastActivity => Messages.Count == 0 ? DateTimeOffset.UnixEpoch : Messages.Max(m => m.At);
    }

    public string BaseUrl => Loopback.BaseUrlOf(_app).TrimEnd('/');

    /// <summary>Requests by path (query left out), answered or not.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    /// <summary>Statuses to answer the next requests with, before answering normally again.</summary>
    public ConcurrentQueue<int> Failures { get; } = new();

    /// <summary>A status to answer every request with (the CRM down, a revoked token), until set back to null.</summary>
    public int? FailAll { get; set; }

    /// <summary>Waited before each answer (an import slow enough to interrupt).</summary>
    public TimeSpan Delay { get; set; }

    /// <summary>Conversations per page of the lists (the vendors' defaults are larger; small pages make paging visible).</summary>
    public int ConversationsPerPage { get; set; } = 25;

    public void Add(Conversation conversation)
    {
        lock (_lock)
        {
            _conversations.Add(conversation);
        }
    }

    /// <summary>Adds a message to a conversation (one whose webhook never came).</summary>
    public void Add(long conversationId, Message message)
    {
        lock (_lock)
        {
            _conversations.Single(c => c.Id == conversationId).Messages.Add(message);
        }
    }

    private List<Conversation> Snapshot()
    {
        lock (_lock)
        {
            return [.. _conversations.Select(c => c with { Messages = [.. c.Messages.OrderBy(m => m.Id)] })];
        }
    }

    public static async Task<FakeCrmHistory> StartAsync()
    {
        var app = Loopback.CreateApp();
        var fake = new FakeCrmHistory(app);
        var bearer = $"Bearer {Token}";

        // Chatwoot: {data: {meta, payload}}; messages {meta, payload} oldest first, 20 at most.
        app.MapGet("/api/v1/accounts/{account}/conversations", (HttpContext http, int? page) => fake.Answer(http, http.Request.Headers["api_access_token"] == Token, () =>
        {
            var all = fake.Snapshot().OrderByDescending(c => c.LastActivity).ToList();
            var slice = all.Skip(((page ?? 1) - 1) * fake.ConversationsPerPage).Take(fake.ConversationsPerPage);
            return new JsonObject
            {
                ["data"] = new JsonObject
                {
                    ["meta"] = new JsonObject { ["all_count"] = all.Count },
                    ["payload"] = new JsonArray([.. slice.Select(c => (JsonNode)new JsonObject
                    {
                        ["id"] = c.Id,
                        ["last_activity_at"] = c.LastActivity.ToUnixTimeSeconds(),
                        ["meta"] = new JsonObject { ["sender"] = new JsonObject { ["id"] = c.ContactId, ["name"] = c.ContactName, ["email"] = c.ContactEmail }, ["channel"] = "Channel::WebWidget" },
                    })]),
                },
            };
        }));
        app.MapGet("/api/v1/accounts/{account}/conversations/{id}/messages", (HttpContext http, long id, long? before) => fake.Answer(http, http.Request.Headers["api_access_token"] == Token, () =>
        {
            var conversation = fake.Snapshot().Single(c => c.Id == id);
            var older = conversation.Messages.Where(m => before is null || m.Id < before).TakeLast(20);
            return new JsonObject
            {
                ["meta"] = new JsonObject { ["contact"] = new JsonObject { ["id"] = conversation.ContactId } },
                ["payload"] = new JsonArray([.. older.Select(m => (JsonNode)new JsonObject
                {
                    ["id"] = m.Id,
                    ["content"] = m.Text,
                    ["message_type"] = m.Kind == Kind.Customer ? 0 : 1,
                    ["private"] = m.Kind == Kind.Note,
                    ["created_at"] = m.At.ToUnixTimeSeconds(),
                    ["sender"] = m.Kind == Kind.Customer
                        ? new JsonObject { ["id"] = conversation.ContactId, ["name"] = conversation.ContactName, ["type"] = "contact" }
                        : new JsonObject { ["id"] = 7, ["name"] = m.Author ?? "Agent", ["type"] = m.Kind == Kind.Bot ? "agent_bot" : "user" },
                })]),
            };
        }));

        // Zendesk: the incremental export, then each ticket's comments, 100 a page, with their authors side-loaded.
        var zendeskAuth = "Basic " + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{ZendeskEmail}/token:{Token}"));
        app.MapGet("/api/v2/incremental/tickets/cursor.json", (HttpContext http, long? start_time, string? cursor) => fake.Answer(http, http.Request.Headers.Authorization == zendeskAuth, () =>
        {
            var all = fake.Snapshot().Where(c => c.LastActivity.ToUnixTimeSeconds() >= (start_time ?? 0)).OrderBy(c => c.LastActivity).ThenBy(c => c.Id).ToList();
            var skip = cursor is null ? 0 : int.Parse(cursor, CultureInfo.InvariantCulture);
            var slice = all.Skip(skip).Take(fake.ConversationsPerPage).ToList();
            return new JsonObject
            {
                ["tickets"] = new JsonArray([.. slice.Select(c => (JsonNode)new JsonObject
                {
                    ["id"] = c.Id, ["requester_id"] = c.ContactId, ["status"] = "open", ["via"] = new JsonObject { ["channel"] = "web" }, ["updated_at"] = c.LastActivity.ToString("O"),
                })]),
                ["after_cursor"] = (skip + slice.Count).ToString(CultureInfo.InvariantCulture),
                ["end_of_stream"] = skip + slice.Count >= all.Count,
            };
        }));
        app.MapGet("/api/v2/tickets/{id}/comments.json", (HttpContext http, long id, int? page) => fake.Answer(http, http.Request.Headers.Authorization == zendeskAuth, () =>
        {
            var conversation = fake.Snapshot().Single(c => c.Id == id);
            var number = page ?? 1;
            var slice = conversation.Messages.Skip((number - 1) * 100).Take(100).ToList();
            return new JsonObject
            {
                ["comments"] = new JsonArray([.. slice.Select(m => (JsonNode)new JsonObject
                {
                    ["id"] = m.Id,
                    ["author_id"] = m.Kind == Kind.Customer ? conversation.ContactId : 7,
                    ["public"] = m.Kind != Kind.Note,
                    ["plain_body"] = m.Text,
                    ["body"] = m.Text,
                    ["created_at"] = m.At.ToString("O"),
                })]),
                ["users"] = new JsonArray(
                    new JsonObject { ["id"] = conversation.ContactId, ["name"] = conversation.ContactName, ["role"] = "end-user" },
                    new JsonObject { ["id"] = 7, ["name"] = "Kim (agent)", ["role"] = "agent" }),
                ["next_page"] = number * 100 < conversation.Messages.Count ? $"{fake.BaseUrl}/api/v2/tickets/{id}/comments.json?include=users&page={number + 1}" : null,
            };
        }));

        // Intercom: the list has no parts; the conversation has its first message (source) and its parts.
        app.MapGet("/conversations", (HttpContext http, string? starting_after) => fake.Answer(http, http.Request.Headers.Authorization == bearer && http.Request.Headers.ContainsKey("Intercom-Version"), () =>
        {
            var all = fake.Snapshot().OrderByDescending(c => c.LastActivity).ToList();
            var skip = starting_after is null ? 0 : all.FindIndex(c => c.Id.ToString(CultureInfo.InvariantCulture) == starting_after) + 1;
            var slice = all.Skip(skip).Take(fake.ConversationsPerPage).ToList();
            return new JsonObject
            {
                ["type"] = "conversation.list",
                ["conversations"] = new JsonArray([.. slice.Select(c => (JsonNode)new JsonObject
                {
                    ["type"] = "conversation", ["id"] = c.Id.ToString(CultureInfo.InvariantCulture), ["updated_at"] = c.LastActivity.ToUnixTimeSeconds(),
                })]),
                ["pages"] = skip + slice.Count < all.Count
                    ? new JsonObject { ["type"] = "pages", ["next"] = new JsonObject { ["starting_after"] = slice[^1].Id.ToString(CultureInfo.InvariantCulture) } }
                    : new JsonObject { ["type"] = "pages" },
            };
        }));
        app.MapGet("/conversations/{id}", (HttpContext http, long id) => fake.Answer(http, http.Request.Headers.Authorization == bearer, () =>
        {
            var conversation = fake.Snapshot().Single(c => c.Id == id);
            var first = conversation.Messages[0];
            return new JsonObject
            {
                ["type"] = "conversation",
                ["id"] = id.ToString(CultureInfo.InvariantCulture),
                ["created_at"] = first.At.ToUnixTimeSeconds(),
                ["source"] = new JsonObject
                {
                    ["id"] = first.Id.ToString(CultureInfo.InvariantCulture), ["body"] = $"<p>{first.Text}</p>", ["delivered_as"] = "customer_initiated",
                    ["author"] = new JsonObject { ["type"] = "user", ["id"] = conversation.ContactId.ToString(CultureInfo.InvariantCulture) },
                },
                ["contacts"] = new JsonObject { ["contacts"] = new JsonArray(new JsonObject { ["type"] = "contact", ["id"] = conversation.ContactId.ToString(CultureInfo.InvariantCulture) }) },
                ["conversation_parts"] = new JsonObject
                {
                    ["conversation_parts"] = new JsonArray([.. conversation.Messages.Skip(1).Select(m => (JsonNode)new JsonObject
                    {
                        ["type"] = "conversation_part",
                        ["id"] = m.Id.ToString(CultureInfo.InvariantCulture),
                        ["part_type"] = m.Kind == Kind.Note ? "note" : "comment",
                        ["body"] = $"<p>{m.Text}</p>",
                        ["created_at"] = m.At.ToUnixTimeSeconds(),
                        ["author"] = m.Kind == Kind.Customer
                            ? new JsonObject { ["type"] = "user", ["id"] = conversation.ContactId.ToString(CultureInfo.InvariantCulture) }
                            : new JsonObject { ["type"] = m.Kind == Kind.Bot ? "bot" : "admin", ["id"] = "7", ["name"] = m.Author ?? "Kim (agent)" },
                    })]),
                },
            };
        }));

        // HubSpot: threads whose latest message is after the given time, then each thread's messages.
        app.MapGet("/conversations/v3/conversations/threads", (HttpContext http, string? after, DateTimeOffset? latestMessageTimestampAfter) => fake.Answer(http, http.Request.Headers.Authorization == bearer, () =>
        {
            var all = fake.Snapshot().Where(c => latestMessageTimestampAfter is null || c.LastActivity >= latestMessageTimestampAfter).OrderBy(c => c.LastActivity).ThenBy(c => c.Id).ToList();
            var skip = after is null ? 0 : int.Parse(after, CultureInfo.InvariantCulture);
            var slice = all.Skip(skip).Take(fake.ConversationsPerPage).ToList();
            return new JsonObject
            {
                ["results"] = new JsonArray([.. slice.Select(c => (JsonNode)new JsonObject { ["id"] = c.Id.ToString(CultureInfo.InvariantCulture), ["latestMessageTimestamp"] = c.LastActivity.ToString("O") })]),
                ["paging"] = skip + slice.Count < all.Count ? new JsonObject { ["next"] = new JsonObject { ["after"] = (skip + slice.Count).ToString(CultureInfo.InvariantCulture) } } : null,
            };
        }));
        app.MapGet("/conversations/v3/conversations/threads/{id}/messages", (HttpContext http, long id, string? after) => fake.Answer(http, http.Request.Headers.Authorization == bearer, () =>
        {
            var conversation = fake.Snapshot().Single(c => c.Id == id);
            var skip = after is null ? 0 : int.Parse(after, CultureInfo.InvariantCulture);
            var slice = conversation.Messages.Skip(skip).Take(100).ToList();
            var visitor = new JsonObject { ["actorId"] = $"V-{conversation.ContactId}", ["name"] = conversation.ContactName };
            return new JsonObject
            {
                ["results"] = new JsonArray([.. slice.Select(m => (JsonNode)new JsonObject
                {
                    ["id"] = m.Id.ToString(CultureInfo.InvariantCulture),
                    ["type"] = m.Kind == Kind.Note ? "COMMENT" : "MESSAGE",
                    ["direction"] = m.Kind == Kind.Customer ? "INCOMING" : "OUTGOING",
                    ["createdAt"] = m.At.ToString("O"),
                    ["text"] = m.Text,
                    ["channelId"] = "1000",
                    ["senders"] = new JsonArray(m.Kind == Kind.Customer ? visitor.DeepClone() : new JsonObject { ["actorId"] = m.Kind == Kind.Bot ? "B-3" : "A-7", ["name"] = m.Author ?? "Kim (agent)" }),
                    ["recipients"] = new JsonArray(m.Kind == Kind.Customer ? new JsonObject { ["actorId"] = "A-7" } : visitor.DeepClone()),
                })]),
                ["paging"] = skip + slice.Count < conversation.Messages.Count ? new JsonObject { ["next"] = new JsonObject { ["after"] = (skip + slice.Count).ToString(CultureInfo.InvariantCulture) } } : null,
            };
        }));

        await app.StartAsync();
        return fake;
    }

    private async Task<IResult> Answer(HttpContext http, bool authorized, Func<JsonNode> answer)
    {
        Requests.Enqueue(http.Request.Path);
        if (Delay > TimeSpan.Zero)
        {
            await Task.Delay(Delay);
        }

        if (!authorized)
        {
            return Results.Json(new { error = "unauthorized" }, statusCode: 401);
        }

        if (FailAll is { } always || Failures.TryDequeue(out always))
        {
            if (always == 429)
            {
                // Intercom says when its window resets; the others send Retry-After.
                if (http.Request.Path.StartsWithSegments("/conversations") && !http.Request.Path.StartsWithSegments("/conversations/v3"))
                {
                    http.Response.Headers["X-RateLimit-Reset"] = DateTimeOffset.UtcNow.AddSeconds(1).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
                }
                else
                {
                    http.Response.Headers.RetryAfter = "1";
                }
            }

            return Results.Json(new { error = $"failing as told ({always})" }, statusCode: always);
        }

        return Results.Content(answer().ToJsonString(), "application/json");
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
