using CustomerGrains.Gateway.Crm;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace CustomerGrains.Gateway.Tests;

/// <summary>How a CRM's answers are read, for replies and history alike: what to wait for, what to try again, and what
/// no retry can change.</summary>
public sealed class CrmApiTests
{
    [Fact]
    public async Task An_answer_that_is_not_json_fails_at_once_and_a_429_is_waited_out_as_the_crm_says()
    {
        await using var app = Loopback.CreateApp();
        var calls = 0;
        app.MapGet("/login", () => Results.Content("<html><body>Sign in</body></html>", "text/html"));
        app.MapGet("/busy", (HttpContext http) =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                http.Response.Headers.RetryAfter = "1";
                return Results.StatusCode(429);
            }

            return Results.Json(new { ok = true });
        });
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(Loopback.BaseUrlOf(app)) };
        using var api = new CrmCalls("Chatwoot", 6000, maxAttempts: 3, TimeProvider.System);

        var notJson = await Assert.ThrowsAsync<CrmApiException>(() => api.GetAsync(http, "/login", _ => { }, default));
        Assert.Null(notJson.RetryAfter); // permanent: the same page would come again
        Assert.Contains("not JSON", notJson.Message, StringComparison.Ordinal);
        Assert.Equal(1, api.Requests);

        var watch = System.Diagnostics.Stopwatch.StartNew();
        var answer = await api.GetAsync(http, "/busy", _ => { }, default);
        Assert.True(answer.GetProperty("ok").GetBoolean());
        Assert.Equal(1, api.Throttled);
        Assert.True(watch.Elapsed >= TimeSpan.FromSeconds(0.9), $"the Retry-After of 1 s was not waited: {watch.Elapsed}");
    }
}
