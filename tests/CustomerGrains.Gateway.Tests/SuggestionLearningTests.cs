using System.Net;
using System.Net.Http.Json;
using System.Text;
using CustomerGrains.Grains;

namespace CustomerGrains.Gateway.Tests;

/// <summary>What agents do with suggestions feeds back: acceptance rates weigh the sources, and a senior can make an
/// accepted reply a knowledge-base entry. Retrieval only (no model), so which suggestion rests on which source is
/// known.</summary>
public sealed class SuggestionLearningTests : IAsyncLifetime
{
    private FakeHubSpot _hubSpot = null!;
    private TestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        _hubSpot = await FakeHubSpot.StartAsync();
        _cluster = await TestCluster.StartAsync(1, GatewayTestOptions.Create(_hubSpot.BaseUrl));
        using var senior = Client(GatewayTestOptions.AcmeSenior);
        var kb = await File.ReadAllTextAsync(Fixtures.Path("kb", "support-kb.json"));
        (await senior.PostAsync("/v1/kb/import", new StringContent(kb, Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
    }

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        await _hubSpot.DisposeAsync();
    }

    private HttpClient Client(string key)
    {
        var client = _cluster.Silos[0].CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", key);
        return client;
    }

    private static async Task<SuggestionResult> SuggestAsync(HttpClient agent, string customer, string message)
    {
        using var response = await agent.PostAsJsonAsync($"/v1/customers/{customer}/suggestions", new { message, count = 3 });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<SuggestionResult>(GatewayCluster.Json))!;
    }

    private static async Task FeedbackAsync(HttpClient agent, string suggestionId, string outcome, string? finalText = null) =>
        Assert.Equal(HttpStatusCode.NoContent, (await agent.PostAsJsonAsync($"/v1/suggestions/{suggestionId}/feedback", new { outcome, finalText })).StatusCode);

    [Fact]
    public async Task Sources_agents_accept_rise_and_sources_they_reject_sink()
    {
        using var agent = Client(GatewayTestOptions.AcmeAgent);
        (await agent.PostAsJsonAsync("/v1/customers/standard:learn-1/interactions", new { eventId = "l1", text = "Hi" })).EnsureSuccessStatusCode();
        const string message = "How do I return an item and get my refund?";
        var before = await SuggestAsync(agent, "standard:learn-1", message);
        var (best, second) = (before.Sources[0].Id, before.Sources[1].Id);
        Assert.Null(before.Sources[0].AcceptanceRate);

        // Agents keep rejecting the best match and accepting the runner-up (wherever they are shown).
        for (var round = 0; round < 4; round++)
        {
            foreach (var suggestion in (await SuggestAsync(agent, "standard:learn-1", message)).Suggestions)
            {
                if (suggestion.Sources.Contains(best) || suggestion.Sources.Contains(second))
                {
                    await FeedbackAsync(agent, suggestion.Id, suggestion.Sources.Contains(best) ? "rejected" : "accepted");
                }
            }
        }

        var after = await SuggestAsync(agent, "standard:learn-1", message);
        Assert.Equal(second, after.Sources[0].Id);
        Assert.Equal(1.0, after.Sources[0].AcceptanceRate);
        Assert.Equal(0.0, after.Sources.Single(s => s.Id == best).AcceptanceRate);
        Assert.Equal(second, after.Suggestions[0].Sources.Single()); // the degraded answers follow the same order
    }

    [Fact]
    public async Task A_senior_promotes_an_edited_reply_into_the_knowledge_base_without_the_customers_data()
    {
        using var agent = Client(GatewayTestOptions.AcmeAgent);
        using var senior = Client(GatewayTestOptions.AcmeSenior);
        (await agent.PostAsJsonAsync("/v1/customers/standard:learn-2/interactions", new { eventId = "l2", text = "Hi" })).EnsureSuccessStatusCode();
        var result = await SuggestAsync(agent, "standard:learn-2", "Can I pay for my order with a gift card? Mail me at kim@example.org");
        var (edited, rejected) = (result.Suggestions[0].Id, result.Suggestions[1].Id);
        await FeedbackAsync(agent, edited, "edited", "Yes, gift cards work at checkout. We sent the steps to kim@example.org.");
        await FeedbackAsync(agent, rejected, "rejected");

        var byAgent = await agent.PostAsJsonAsync($"/v1/suggestions/{edited}/promote", new { });
        using var promoted = await senior.PostAsJsonAsync($"/v1/suggestions/{edited}/promote", new { tags = new[] { "payments" } });
        var again = await senior.PostAsJsonAsync($"/v1/suggestions/{edited}/promote", new { });
        var notAccepted = await senior.PostAsJsonAsync($"/v1/suggestions/{rejected}/promote", new { });
        var unknown = await senior.PostAsJsonAsync("/v1/suggestions/sg_nope/promote", new { });

        Assert.Equal(HttpStatusCode.Forbidden, byAgent.StatusCode);
        Assert.Equal(HttpStatusCode.Created, promoted.StatusCode);
        var entry = (await promoted.Content.ReadFromJsonAsync<KbEntry>(GatewayCluster.Json))!;
        Assert.Equal($"/v1/kb/entries/{entry.EntryId}", promoted.Headers.Location?.OriginalString);
        Assert.Equal(("accepted-reply", "Can I pay for my order with a gift card? Mail me at [EMAIL_1]"), (entry.Source, entry.Question));
        Assert.Equal("Yes, gift cards work at checkout. We sent the steps to [EMAIL_1].", entry.Answer);
        Assert.Equal(["payments"], entry.Tags);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Contains("promoted already", await again.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Conflict, notAccepted.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);

        var ask = await (await agent.PostAsJsonAsync("/v1/kb/ask", new { question = "pay with a gift card" })).Content.ReadFromJsonAsync<AskResult>(GatewayCluster.Json);
        Assert.Equal(entry.EntryId, ask!.Match?.EntryId ?? ask.Similar[0].EntryId);
    }

    [Fact]
    public async Task A_reply_edited_for_one_customer_is_never_offered_to_another()
    {
        using var agent = Client(GatewayTestOptions.AcmeAgent);
        foreach (var customer in new[] { "standard:ann-lee", "standard:oleg-p" })
        {
            (await agent.PostAsJsonAsync($"/v1/customers/{customer}/interactions", new { eventId = customer, text = "Hi" })).EnsureSuccessStatusCode();
        }

        const string message = "How do I return an item and get my refund for order 1234?";
        var forAnn = await SuggestAsync(agent, "standard:ann-lee", message);
        await FeedbackAsync(agent, forAnn.Suggestions[0].Id, "edited", "Hello Ann Lee, the refund for order 1234 goes out once the parcel reaches 5 Baker St.");

        var forOleg = await SuggestAsync(agent, "standard:oleg-p", message);
        var shownToOleg = string.Join("\n", forOleg.Suggestions.Select(s => s.Text).Concat(forOleg.Sources.Select(s => s.Text)));
        Assert.DoesNotContain("Baker", shownToOleg, StringComparison.Ordinal);
        Assert.DoesNotContain("Ann", shownToOleg, StringComparison.Ordinal);

        // Ann's own reply still helps Ann.
        var forAnnAgain = await SuggestAsync(agent, "standard:ann-lee", message);
        Assert.Contains(forAnnAgain.Sources, s => s.Text.Contains("Baker", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_customer_who_prefers_a_language_no_entry_is_in_gets_the_answer_in_the_language_they_wrote_marked_as_such()
    {
        using var agent = Client(GatewayTestOptions.AcmeAgent);
        (await agent.PostAsJsonAsync("/v1/customers/standard:joao-pt/interactions", new { eventId = "pt-1", text = "Hi", customer = new { name = "João Silva", language = "pt" } }))
            .EnsureSuccessStatusCode();

        var result = await SuggestAsync(agent, "standard:joao-pt", "How do I return an item and get my refund?");

        Assert.Equal("pt", result.Language);
        Assert.NotEmpty(result.Suggestions);
        Assert.All(result.Suggestions, s => Assert.Equal((SuggestionKind.Retrieved, "en"), (s.Kind, s.Language)));
        Assert.StartsWith("Hello, João Silva!", result.Suggestions[0].Text, StringComparison.Ordinal); // fitted in the answer's language
        Assert.Contains("No knowledge-base answer in Portuguese matches the message; these are in English", result.Reason, StringComparison.Ordinal);
    }
}
