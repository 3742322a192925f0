using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace CustomerGrains.Testing;

/// <summary>A request the receiver got: its path, headers and raw body.</summary>
public sealed record ReceivedRequest(string Path, Dictionary<string, string> Headers, string Body);

/// <summary>An HTTP endpoint on a loopback port that records every POST, to any path (<see cref="Url"/> is one);
/// the first <see cref="FailFirst"/> get 503.</summary>
public sealed class RecordingReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _seen;

    private RecordingReceiver(WebApplication app) => _app = app;

    public ConcurrentQueue<ReceivedRequest> Received { get; } = new();

    public int FailFirst { get; set; }

    public string BaseUrl => Loopback.BaseUrlOf(_app);

    public string Url => BaseUrl + "/hook";

    public static async Task<RecordingReceiver> StartAsync()
    {
        var app = Loopback.CreateApp();
        var receiver = new RecordingReceiver(app);
        app.MapPost("/{**path}", async (HttpContext http) =>
        {
            using var reader = new StreamReader(http.Request.Body);
            var body = await reader.ReadToEndAsync();
            if (Interlocked.Increment(ref receiver._seen) <= receiver.FailFirst)
            {
                return Results.StatusCode(503);
            }

            receiver.Received.Enqueue(new ReceivedRequest(http.Request.Path, http.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString()), body));
            return Results.Ok();
        });
        await app.StartAsync();
        return receiver;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
