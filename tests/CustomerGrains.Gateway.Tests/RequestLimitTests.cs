using System.Net;
using System.Net.Http.Json;
using System.Text;

namespace CustomerGrains.Gateway.Tests;

/// <summary>One key cannot flood the models every tenant shares, nor send text without end.</summary>
public sealed class RequestLimitTests : IAsyncLifetime
{
    private TestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        var options = GatewayTestOptions.Create("http://127.0.0.1:9");
        options.Configuration["RateLimits:SuggestionsPerMinute"] = "6"; // one at once, then one every 10 s
        options.Configuration["RateLimits:TenantSuggestionsPerMinute"] = "600";
        _cluster = await TestCluster.StartAsync(1, options);
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    private HttpClient Client(string key)
    {
        var client = _cluster.Silos[0].CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", key);
        return client;
    }

    [Fact]
    public async Task A_key_asking_for_suggestions_past_its_limit_gets_429_with_retry_after_and_another_tenant_is_not_held_back()
    {
        using var acme = Client(GatewayTestOptions.AcmeAgent);
        using var globex = Client(GatewayTestOptions.GlobexAdmin);
        foreach (var client in new[] { acme, globex })
        {
            (await client.PostAsJsonAsync("/v1/customers/standard:flood-1/interactions", new { eventId = "f1", text = "Where is my order?" })).EnsureSuccessStatusCode();
        }

        using var first = await acme.PostAsJsonAsync("/v1/customers/standard:flood-1/suggestions", new { count = 1 });
        using var flooding = await acme.PostAsJsonAsync("/v1/customers/standard:flood-1/suggestions", new { count = 1 });
        using var other = await globex.PostAsJsonAsync("/v1/customers/standard:flood-1/suggestions", new { count = 1 });

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, flooding.StatusCode);
        Assert.Equal("application/problem+json", flooding.Content.Headers.ContentType?.MediaType);
        Assert.InRange(flooding.Headers.RetryAfter?.Delta?.TotalSeconds ?? 0, 1, 10);
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
    }

    [Fact]
    public async Task A_body_over_one_mebibyte_gets_413_and_text_past_its_cap_gets_400_naming_the_field()
    {
        using var agent = Client(GatewayTestOptions.AcmeAgent);

        using var huge = await agent.PostAsync("/v1/customers/standard:big-1/interactions",
            new StringContent($"{{\"eventId\":\"b1\",\"text\":\"{new string('x', 2 * 1024 * 1024)}\"}}", Encoding.UTF8, "application/json"));
        using var longText = await agent.PostAsJsonAsync("/v1/customers/standard:big-1/interactions", new { eventId = "b2", text = new string('x', 70_000) });
        using var longMessage = await agent.PostAsJsonAsync("/v1/customers/standard:big-1/suggestions", new { message = new string('x', 5_000) });
        using var longQuestion = await agent.PostAsJsonAsync("/v1/kb/ask", new { question = new string('x', 5_000) });

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, longText.StatusCode);
        Assert.Contains("'text' is at most 65536 characters", await longText.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, longMessage.StatusCode);
        Assert.Contains("'message' is at most 4000 characters", await longMessage.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, longQuestion.StatusCode);
        Assert.Contains("'question' is at most 4000 characters", await longQuestion.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await agent.GetAsync("/v1/customers/standard:big-1/context")).StatusCode); // nothing stored
    }
}
