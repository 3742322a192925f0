using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CustomerGrains.Grains;
using CustomerGrains.Testing;

namespace CustomerGrains.Gateway.Tests;

public sealed class QuestionFlowTests(GatewayCluster gateway) : IClassFixture<GatewayCluster>
{
    private async Task LoadFixtureAsync()
    {
        var entries = File.ReadAllText(Fixtures.Path("kb", "support-kb.json"));
        using var senior = gateway.Agent(GatewayCluster.AcmeSenior);
        if ((await senior.GetFromJsonAsync<List<KbEntry>>("/v1/kb/export", GatewayCluster.Json))!.Count == 0)
        {
            (await senior.PostAsync("/v1/kb/import", new StringContent(entries, Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
        }
    }

    [Fact]
    public async Task Importing_the_same_entries_again_adds_none()
    {
        await LoadFixtureAsync();
        using var senior = gateway.Agent(GatewayCluster.AcmeSenior);
        var before = (await senior.GetFromJsonAsync<List<KbEntry>>("/v1/kb/export", GatewayCluster.Json))!.Count;
        var question = $"Can I change the colour of item {Guid.NewGuid():N}?";

        var again = await senior.PostAsync("/v1/kb/import", new StringContent(File.ReadAllText(Fixtures.Path("kb", "support-kb.json")), Encoding.UTF8, "application/json"));
        var twice = await senior.PostAsJsonAsync("/v1/kb/import", new[] { new { question, answer = "Yes, before it ships." }, new { question, answer = "Yes, before it ships." } });

        Assert.Equal(0, (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("imported").GetInt32());
        Assert.Equal(1, (await twice.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("imported").GetInt32());
        Assert.Equal(before + 1, (await senior.GetFromJsonAsync<List<KbEntry>>("/v1/kb/export", GatewayCluster.Json))!.Count);
    }

    [Fact]
    public async Task A_confident_question_gets_the_answer_and_three_related_ones()
    {
        await LoadFixtureAsync();
        using var agent = gateway.Agent();

        var result = await (await agent.PostAsJsonAsync("/v1/kb/ask", new { question = "where is my oder" })).Content.ReadFromJsonAsync<JsonElement>();

        Assert.StartsWith("q_", result.GetProperty("questionId").GetString(), StringComparison.Ordinal);
        var match = result.GetProperty("match");
        Assert.Equal("Where is my order?", match.GetProperty("question").GetString());
        Assert.StartsWith("Track it", match.GetProperty("answer").GetString(), StringComparison.Ordinal);
        Assert.True(match.GetProperty("score").GetDouble() >= 0.4);
        Assert.StartsWith("kb_", match.GetProperty("entryId").GetString(), StringComparison.Ordinal);
        Assert.Equal(3, result.GetProperty("related").GetArrayLength());
        Assert.All(result.GetProperty("related").EnumerateArray(), r => Assert.NotEqual(match.GetProperty("entryId").GetString(), r.GetProperty("entryId").GetString()));
        Assert.Equal(0, result.GetProperty("similar").GetArrayLength());
    }

    [Fact]
    public async Task An_unconfident_question_gets_the_five_most_similar_then_escalation_a_senior_answer_and_next_time_the_answer()
    {
        await LoadFixtureAsync();
        using var agent = gateway.Agent();
        const string question = "Can I pay for my order in two parts with a card and an invoice?";

        // Not confident: no match, the five most similar questions to choose from.
        var first = await (await agent.PostAsJsonAsync("/v1/kb/ask", new { question })).Content.ReadFromJsonAsync<AskResult>(GatewayCluster.Json);
        Assert.Null(first!.Match);
        Assert.Equal(5, first.Similar.Count);
        Assert.All(first.Similar, s => Assert.StartsWith("kb_", s.EntryId, StringComparison.Ordinal));

        // "None of these": escalated, and a Standard Webhooks-signed notification reaches the configured listener.
        var escalated = await (await agent.PostAsync($"/v1/kb/questions/{first.QuestionId}/escalate", null)).Content.ReadFromJsonAsync<KbQuestion>(GatewayCluster.Json);
        Assert.Equal("AwaitingSenior", escalated!.Status);
        Assert.Contains(first.QuestionId, (await agent.GetFromJsonAsync<List<KbQuestion>>("/v1/kb/questions?status=AwaitingSenior", GatewayCluster.Json))!.Select(q => q.QuestionId));
        ReceivedRequest? notification = null;
        Assert.True(await Testing.Eventually.TrueAsync(
            () => (notification = gateway.Escalations.Received.FirstOrDefault(r => r.Body.Contains(first.QuestionId, StringComparison.Ordinal))) is not null,
            TimeSpan.FromSeconds(15)), "no escalation notification arrived");
        var (id, timestamp) = (notification!.Headers["webhook-id"], notification.Headers["webhook-timestamp"]);
        var key = Convert.FromBase64String(Testing.Signing.StandardSecret["whsec_".Length..]);
        var expected = "v1," + Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{id}.{timestamp}.{notification.Body}")));
        Assert.Equal(expected, notification.Headers["webhook-signature"]);
        using (var payload = JsonDocument.Parse(notification.Body))
        {
            Assert.Equal("question.escalated", payload.RootElement.GetProperty("type").GetString());
            Assert.Equal(question, payload.RootElement.GetProperty("question").GetString());
        }

        // Agents cannot answer; a senior can, and the answer joins the knowledge base at once.
        Assert.Equal(HttpStatusCode.Forbidden, (await agent.PostAsJsonAsync($"/v1/kb/questions/{first.QuestionId}/answer", new { answer = "x" })).StatusCode);
        using var senior = gateway.Agent(GatewayCluster.AcmeSenior);
        var answered = await (await senior.PostAsJsonAsync($"/v1/kb/questions/{first.QuestionId}/answer", new { answer = "Yes: choose Split payment at checkout.", tags = new[] { "billing" } }))
            .Content.ReadFromJsonAsync<KbQuestion>(GatewayCluster.Json);
        Assert.Equal("AddedToKb", answered!.Status);
        Assert.Equal("Yes: choose Split payment at checkout.", (await agent.GetFromJsonAsync<KbQuestion>($"/v1/kb/questions/{first.QuestionId}", GatewayCluster.Json))!.Answer);
        Assert.Equal(HttpStatusCode.Conflict, (await agent.PostAsync($"/v1/kb/questions/{first.QuestionId}/escalate", null)).StatusCode);

        // The same question, asked again, is now answered from the knowledge base.
        var again = await (await agent.PostAsJsonAsync("/v1/kb/ask", new { question })).Content.ReadFromJsonAsync<AskResult>(GatewayCluster.Json);
        Assert.NotNull(again!.Match);
        Assert.Equal(answered.EntryId, again.Match!.EntryId);
        Assert.Equal("Yes: choose Split payment at checkout.", again.Match.Answer);
        Assert.Equal(first.QuestionId, again.QuestionId);
    }

    [Fact]
    public async Task A_question_asked_often_becomes_a_faq()
    {
        await LoadFixtureAsync();
        using var agent = gateway.Agent();

        for (var i = 0; i < 5; i++)
        {
            (await agent.PostAsJsonAsync("/v1/kb/ask", new { question = "How do I reset my password?" })).EnsureSuccessStatusCode();
        }

        var faq = await agent.GetFromJsonAsync<List<KbQuestion>>("/v1/kb/questions?status=Faq", GatewayCluster.Json);
        Assert.Contains(faq!, q => q.Question == "How do I reset my password?" && q.TimesAsked >= 5);
    }

    [Fact]
    public async Task Entries_need_a_question_and_an_answer_and_only_seniors_write_them()
    {
        using var agent = gateway.Agent();
        using var senior = gateway.Agent(GatewayCluster.AcmeSenior);

        Assert.Equal(HttpStatusCode.Forbidden, (await agent.PostAsJsonAsync("/v1/kb/entries", new { question = "q", answer = "a" })).StatusCode);
        var invalid = await senior.PostAsJsonAsync("/v1/kb/entries", new { question = "Only a question" });
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Contains("needs an answer", await invalid.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var created = await (await senior.PostAsJsonAsync("/v1/kb/entries", new { question = "Do you offer gift wrapping?", answer = "Yes, for 3 EUR.", tags = new[] { "orders" }, language = "en" }))
            .Content.ReadFromJsonAsync<KbEntry>(GatewayCluster.Json);
        Assert.Equal(("article", "en"), (created!.Source, created.Language));
        Assert.Equal("Yes, for 3 EUR.", (await agent.GetFromJsonAsync<KbEntry>($"/v1/kb/entries/{created.EntryId}", GatewayCluster.Json))!.Answer);
        Assert.Equal(HttpStatusCode.NoContent, (await senior.DeleteAsync($"/v1/kb/entries/{created.EntryId}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await agent.GetAsync($"/v1/kb/entries/{created.EntryId}")).StatusCode);
    }
}
