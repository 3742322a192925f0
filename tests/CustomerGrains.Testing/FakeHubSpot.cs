using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace CustomerGrains.Testing;

/// <summary>HubSpot's conversations API on a loopback port: serves the messages a test put there, checks the token.</summary>
public sealed class FakeHubSpot : IAsyncDisposable
{
    public const string AccessToken = "hubspot-access-token";
    private readonly WebApplication _app;

    private FakeHubSpot(WebApplication app) => _app = app;

    public ConcurrentDictionary<string, string> Messages { get; } = new();

    public int Requests => _requests;

    private int _requests;

    public string BaseUrl => Loopback.BaseUrlOf(_app);

    public static async Task<FakeHubSpot> StartAsync()
    {
        var app = Loopback.CreateApp();
        var fake = new FakeHubSpot(app);
        app.MapGet("/conversations/v3/conversations/threads/{thread}/messages/{message}", (string thread, string message, HttpContext http) =>
        {
            Interlocked.Increment(ref fake._requests);
            if (http.Request.Headers.Authorization != $"Bearer {AccessToken}")
            {
                return Results.StatusCode(401);
            }

            if (!fake.Messages.TryGetValue(message, out var json))
            {
                return Results.NotFound();
            }

            // "status:503" makes this message fail with that status.
            return json.StartsWith("status:", StringComparison.Ordinal) ? Results.StatusCode(int.Parse(json[7..])) : Results.Content(json, "application/json");
        });
        await app.StartAsync();
        return fake;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
