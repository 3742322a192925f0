using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace CustomerGrains.Testing;

/// <summary>
/// A model server speaking the OpenAI chat-completions protocol on loopback, as OpenAI documents it and vLLM, llama.cpp's
/// server and Ollama implement it: <c>POST {base}/chat/completions</c> with a bearer key, answered whole
/// (<c>choices[0].message.content</c>, <c>finish_reason</c>, <c>usage</c>) or, with <c>"stream": true</c>, as server-sent
/// events of <c>chat.completion.chunk</c> deltas ended by <c>data: [DONE]</c>. It answers <see cref="Reply"/>, records
/// every request body, and can be told to fail or to be slow.
/// </summary>
public sealed class FakeModelServer : IAsyncDisposable
{
    public const string ApiKey = "model-server-key-0123456789";
    private readonly WebApplication _app;

    private FakeModelServer(WebApplication app) => _app = app;

    /// <summary>The base URL clients are configured with (ends in <c>/v1</c>).</summary>
    public string BaseUrl => Loopback.BaseUrlOf(_app).TrimEnd('/') + "/v1";

    /// <summary>What the model answers.</summary>
    public string Reply { get; set; } = "Your parcel left the warehouse today [S1].";

    /// <summary>A status to answer every request with, until set back to null.</summary>
    public int? FailWith { get; set; }

    /// <summary>Waited before answering (a server slower than the caller's deadline).</summary>
    public TimeSpan Delay { get; set; }

    /// <summary>Every request body received, in order.</summary>
    public ConcurrentQueue<JsonNode> Requests { get; } = new();

    public static async Task<FakeModelServer> StartAsync()
    {
        var app = Loopback.CreateApp();
        var fake = new FakeModelServer(app);
        app.MapPost("/v1/chat/completions", fake.AnswerAsync);
        await app.StartAsync();
        return fake;
    }

    private async Task AnswerAsync(HttpContext http)
    {
        var body = (await JsonNode.ParseAsync(http.Request.Body))!;
        Requests.Enqueue(body);
        if (http.Request.Headers.Authorization != $"Bearer {ApiKey}")
        {
            http.Response.StatusCode = 401;
            await http.Response.WriteAsJsonAsync(new { error = new { message = "Incorrect API key provided.", type = "invalid_request_error", code = "invalid_api_key" } });
            return;
        }

        if (Delay > TimeSpan.Zero)
        {
            await Task.Delay(Delay, http.RequestAborted);
        }

        if (FailWith is { } status)
        {
            http.Response.StatusCode = status;
            await http.Response.WriteAsJsonAsync(new { error = new { message = $"failing as told ({status})", type = "server_error" } });
            return;
        }

        var model = body["model"]?.GetValue<string>() ?? "";
        var words = Reply.Split(' ');
        if (body["stream"]?.GetValue<bool>() == true)
        {
            http.Response.ContentType = "text/event-stream";
            for (var i = 0; i < words.Length; i++)
            {
                var delta = new JsonObject { ["content"] = (i == 0 ? "" : " ") + words[i] };
                if (i == 0)
                {
                    delta["role"] = "assistant";
                }

                await WriteEventAsync(http, Chunk(model, delta, null));
            }

            await WriteEventAsync(http, Chunk(model, new JsonObject(), "stop"));
            await http.Response.WriteAsync("data: [DONE]\n\n");
            return;
        }

        await http.Response.WriteAsJsonAsync(new JsonObject
        {
            ["id"] = "chatcmpl-1",
            ["object"] = "chat.completion",
            ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["model"] = model,
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0,
                ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = Reply },
                ["finish_reason"] = "stop",
            }),
            ["usage"] = new JsonObject { ["prompt_tokens"] = 50, ["completion_tokens"] = words.Length, ["total_tokens"] = 50 + words.Length },
        });
    }

    private static JsonObject Chunk(string model, JsonObject delta, string? finish) => new()
    {
        ["id"] = "chatcmpl-1",
        ["object"] = "chat.completion.chunk",
        ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
        ["model"] = model,
        ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["finish_reason"] = finish }),
    };

    private static async Task WriteEventAsync(HttpContext http, JsonObject data)
    {
        await http.Response.WriteAsync($"data: {data.ToJsonString()}\n\n");
        await http.Response.Body.FlushAsync();
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
