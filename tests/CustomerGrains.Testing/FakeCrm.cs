using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace CustomerGrains.Testing;

/// <summary>
/// The five CRMs' reply APIs on one loopback port, as their documentation shapes them (shared/reference/crm-replies.md),
/// not as the project's clients call them: Chatwoot's messages (api_access_token), Zendesk's ticket update (Basic
/// email/token), Intercom's conversation reply (Bearer, Intercom-Version), HubSpot's thread read and message post
/// (Bearer), and a custom CRM's Standard Webhooks receiver (signature checked). It records what it took and can be
/// told to answer the next requests with a failure (429 with Retry-After, 503, 400).
/// </summary>
public sealed class FakeCrm : IAsyncDisposable
{
    public const string Token = "crm-access-token-0123456789";
    public const string ZendeskEmail = "agent@acme.test";
    private readonly WebApplication _app;
    private int _nextId = 5000;

    private FakeCrm(WebApplication app) => _app = app;

    public sealed record Request(string Vendor, string Method, string Path, JsonNode? Body, DateTimeOffset At)
    {
        /// <summary>What the fake answered.</summary>
        public int Status { get; set; }
    }

    /// <summary>Every request that reached a vendor's endpoint, answered or not, in order.</summary>
    public ConcurrentQueue<Request> Received { get; } = new();

    /// <summary>Statuses to answer the next requests with, before answering normally again.</summary>
    public ConcurrentQueue<int> Failures { get; } = new();

    /// <summary>A status to answer every request with (the CRM down), until set back to null.</summary>
    public int? FailAll { get; set; }

    /// <summary>HubSpot messages to serve by id, as the webhook's fetch reads them.</summary>
    public ConcurrentDictionary<string, string> HubSpotMessages { get; } = new();

    public string BaseUrl => Loopback.BaseUrlOf(_app);

    public IEnumerable<Request> Sent(string vendor) => Received.Where(r => r.Vendor == vendor && r.Method != "GET");

    public static async Task<FakeCrm> StartAsync()
    {
        var app = Loopback.CreateApp();
        var fake = new FakeCrm(app);

        app.MapPost("/api/v1/accounts/{account}/conversations/{conversation}/messages", (string account, string conversation, HttpContext http) =>
            fake.AnswerAsync(http, "chatwoot", http.Request.Headers["api_access_token"] == Token, id => new JsonObject { ["id"] = id, ["message_type"] = 1 }));
        app.MapPut("/api/v2/tickets/{ticket}.json", (string ticket, HttpContext http) =>
            fake.AnswerAsync(http, "zendesk",
                http.Request.Headers.Authorization == "Basic " + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{ZendeskEmail}/token:{Token}")),
                id => new JsonObject
                {
                    ["ticket"] = new JsonObject { ["id"] = 501 },
                    ["audit"] = new JsonObject { ["events"] = new JsonArray(new JsonObject { ["type"] = "Notification", ["id"] = 1 }, new JsonObject { ["type"] = "Comment", ["id"] = id }) },
                }));
        app.MapPost("/conversations/{conversation}/reply", (string conversation, HttpContext http) =>
            fake.AnswerAsync(http, "intercom", http.Request.Headers.Authorization == $"Bearer {Token}" && http.Request.Headers.ContainsKey("Intercom-Version"),
                id => new JsonObject
                {
                    ["type"] = "conversation",
                    ["id"] = conversation,
                    ["conversation_parts"] = new JsonObject { ["conversation_parts"] = new JsonArray(new JsonObject { ["id"] = "1" }, new JsonObject { ["id"] = id.ToString() }) },
                }));
        app.MapGet("/conversations/v3/conversations/threads/{thread}", (string thread, HttpContext http) =>
            fake.AnswerAsync(http, "hubspot", http.Request.Headers.Authorization == $"Bearer {FakeHubSpot.AccessToken}",
                _ => new JsonObject { ["id"] = thread, ["originalChannelId"] = "1000", ["originalChannelAccountId"] = "2" }));
        app.MapPost("/conversations/v3/conversations/threads/{thread}/messages", (string thread, HttpContext http) =>
            fake.AnswerAsync(http, "hubspot", http.Request.Headers.Authorization == $"Bearer {FakeHubSpot.AccessToken}", id => new JsonObject { ["id"] = id.ToString(), ["direction"] = "OUTGOING" }));
        app.MapGet("/conversations/v3/conversations/threads/{thread}/messages/{message}", (string message) =>
            fake.HubSpotMessages.TryGetValue(message, out var json) ? Results.Content(json, "application/json") : Results.NotFound());
        app.MapPost("/reply", (Func<HttpContext, Task<IResult>>)(http => fake.AnswerAsync(http, "standard", null, id => new JsonObject { ["id"] = $"crm-msg-{id}" })));
        await app.StartAsync();
        return fake;
    }

    private async Task<IResult> AnswerAsync(HttpContext http, string vendor, bool? authorized, Func<int, JsonNode> answer)
    {
        using var reader = new StreamReader(http.Request.Body);
        var text = await reader.ReadToEndAsync();
        var body = text.Length == 0 ? null : JsonNode.Parse(text);
        var received = new Request(vendor, http.Request.Method, http.Request.Path, body, DateTimeOffset.UtcNow);
        Received.Enqueue(received);
        if (vendor == "standard")
        {
            var headers = http.Request.Headers;
            var expected = Signing.Standard(text, headers["webhook-id"].ToString(), DateTimeOffset.FromUnixTimeSeconds(long.Parse(headers["webhook-timestamp"].ToString(), System.Globalization.CultureInfo.InvariantCulture)));
            authorized = headers["webhook-signature"].ToString() == expected["webhook-signature"];
        }

        if (authorized != true)
        {
            received.Status = 401;
            return Results.StatusCode(401);
        }

        if (FailAll is { } always || Failures.TryDequeue(out always))
        {
            var status = always;
            received.Status = status;
            if (status == 429)
            {
                http.Response.Headers.RetryAfter = "1";
            }

            return Results.Json(new { error = $"failing as told ({status})" }, statusCode: status);
        }

        received.Status = 200;
        return Results.Content(answer(Interlocked.Increment(ref _nextId)).ToJsonString(), "application/json");
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
