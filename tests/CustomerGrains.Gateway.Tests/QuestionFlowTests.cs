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
    public async Task An_asker_lists_their_own_questions_with_mine()
    {
        await LoadFixtureAsync();
        var question = $"Do you ship parcels to island {Guid.NewGuid():N}?";
        using var agent = gateway.Agent();
        using var senior = gateway.Agent(GatewayCluster.AcmeSenior);
        (await agent.PostAsJsonAsync("/v1/kb/ask", new { question })).EnsureSuccessStatusCode();

        Assert.Contains(question, (await agent.GetFromJsonAsync<List<KbQuestion>>("/v1/kb/questions?mine=true", GatewayCluster.Json))!.Select(q => q.Question));
        Assert.DoesNotContain(question, (await senior.GetFromJsonAsync<List<KbQuestion>>("/v1/kb/questions?mine=true", GatewayCluster.Json))!.Select(q => q.Question));
        Assert.Contains(question, (await senior.GetFromJsonAsync<List<KbQuestion>>("/v1/kb/questions", GatewayCluster.Json))!.Select(q => q.Question));
    }

    [Fact]
    public async Task A_question_sharing_no_word_with_an_entry_in_another_script_is_still_offered_it()
    {
        await LoadFixtureAsync();
        using var senior = gateway.Agent(GatewayCluster.AcmeSenior);
        var added = await (await senior.PostAsJsonAsync("/v1/kb/entries", new { question = "How do I set up roaming abroad?", answer = "Switch roaming on in the app under Travel before you leave.", language = "en" }))
            .Content.ReadFromJsonAsync<KbEntry>(GatewayCluster.Json);

        // A Russian keyword, no English word: no confident answer, but "роуминг" reads "rouming", near "roaming".
        var asked = await (await gateway.Agent().PostAsJsonAsync("/v1/kb/ask", new { question = "роуминг" })).Content.ReadFromJsonAsync<AskResult>(GatewayCluster.Json);

        Assert.Null(asked!.Match);
        Assert.Equal(5, asked.Similar.Count);
        Assert.True(asked.Similar.Any(s => s.EntryId == added!.EntryId), string.Join("; ", asked.Similar.Select(s => $"{s.Question} {s.Score}")));
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
        Assert.Equal(KbQuestionStatus.AwaitingSenior, escalated!.Status);
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
        Assert.Equal(KbQuestionStatus.AddedToKb, answered!.Status);
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
    public async Task Picking_a_similar_question_teaches_retrieval_the_askers_wording_its_forms_and_typos()
    {
        await LoadFixtureAsync();
        using var agent = gateway.Agent();
        using var senior = gateway.Agent(GatewayCluster.AcmeSenior);
        var entry = await (await senior.PostAsJsonAsync("/v1/kb/entries", new { question = "Do you ship to the Canary Islands?", answer = "Yes, in 5 to 7 days; customs are included." }))
            .Content.ReadFromJsonAsync<KbEntry>(GatewayCluster.Json);
        const string wording = "Can my parcel be delivered to Tenerife in the Canaries?";

        var first = await (await agent.PostAsJsonAsync("/v1/kb/ask", new { question = wording })).Content.ReadFromJsonAsync<AskResult>(GatewayCluster.Json);
        Assert.NotEqual(entry!.EntryId, first!.Match?.EntryId);
        Assert.Contains(first.Related.Concat(first.Similar), m => m.EntryId == entry.EntryId); // offered: only an offered entry can be picked
        var picked = await (await agent.PostAsJsonAsync($"/v1/kb/questions/{first.QuestionId}/pick", new { entryId = entry.EntryId })).Content.ReadFromJsonAsync<KbQuestion>(GatewayCluster.Json);
        Assert.Equal((KbQuestionStatus.AddedToKb, entry.EntryId, entry.Answer), (picked!.Status, picked.EntryId, picked.Answer));

        // The same wording, another form of it and a typo in it are answered outright now.
        foreach (var asked in new[] { wording, "Could my parcels be delivered to Tenerife", "Can my parcel be deliverd to Tenerif?" })
        {
            var again = await (await agent.PostAsJsonAsync("/v1/kb/ask", new { question = asked })).Content.ReadFromJsonAsync<AskResult>(GatewayCluster.Json);
            Assert.True(again!.Match?.EntryId == entry.EntryId, $"'{asked}' was answered by {again.Match?.Question ?? "nothing"}");
        }

        // The alias is the entry's, visible, exported, and removable: without it the wording is not answered outright.
        var withAlias = await agent.GetFromJsonAsync<KbEntry>($"/v1/kb/entries/{entry.EntryId}", GatewayCluster.Json);
        Assert.Equal([wording], withAlias!.Aliases);
        Assert.Contains((await senior.GetFromJsonAsync<List<KbEntry>>("/v1/kb/export", GatewayCluster.Json))!, e => e.EntryId == entry.EntryId && e.Aliases!.SequenceEqual([wording]));
        var removed = await (await senior.PutAsJsonAsync($"/v1/kb/entries/{entry.EntryId}", new { question = entry.Question, answer = entry.Answer, aliases = Array.Empty<string>() }))
            .Content.ReadFromJsonAsync<KbEntry>(GatewayCluster.Json);
        Assert.Empty(removed!.Aliases!);
        var unlearned = await (await agent.PostAsJsonAsync("/v1/kb/ask", new { question = wording })).Content.ReadFromJsonAsync<AskResult>(GatewayCluster.Json);
        Assert.NotEqual(entry.EntryId, unlearned!.Match?.EntryId);

        // Another tenant learned nothing; an entry deleted takes its aliases with it.
        using var globex = gateway.Agent(GatewayCluster.GlobexAdmin);
        Assert.Null((await (await globex.PostAsJsonAsync("/v1/kb/ask", new { question = wording })).Content.ReadFromJsonAsync<AskResult>(GatewayCluster.Json))!.Match);
        await senior.PutAsJsonAsync($"/v1/kb/entries/{entry.EntryId}", new { question = entry.Question, answer = entry.Answer, aliases = new[] { wording } });
        Assert.Equal(HttpStatusCode.NoContent, (await senior.DeleteAsync($"/v1/kb/entries/{entry.EntryId}")).StatusCode);
        var recreated = await (await senior.PostAsJsonAsync("/v1/kb/entries", new { question = entry.Question, answer = entry.Answer })).Content.ReadFromJsonAsync<KbEntry>(GatewayCluster.Json);
        Assert.Empty(recreated!.Aliases!);
        await senior.DeleteAsync($"/v1/kb/entries/{recreated.EntryId}");

        // Picking another offered entry for a question answered already, an entry that was never offered (or does not
        // exist), or none, is refused saying why.
        var other = await (await agent.PostAsJsonAsync("/v1/kb/ask", new { question = $"Is there a store in town {Guid.NewGuid():N}?" })).Content.ReadFromJsonAsync<AskResult>(GatewayCluster.Json);
        var offeredToo = first.Related.Concat(first.Similar).First(m => m.EntryId != entry.EntryId).EntryId;
        Assert.Equal(HttpStatusCode.Conflict, (await agent.PostAsJsonAsync($"/v1/kb/questions/{first.QuestionId}/pick", new { entryId = offeredToo })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await agent.PostAsJsonAsync($"/v1/kb/questions/{first.QuestionId}/pick", new { entryId = recreated.EntryId })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await agent.PostAsJsonAsync($"/v1/kb/questions/{other!.QuestionId}/pick", new { entryId = "kb_nope" })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await agent.PostAsJsonAsync("/v1/kb/questions/q_nope/pick", new { entryId = "kb_nope" })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await agent.PostAsJsonAsync($"/v1/kb/questions/{other.QuestionId}/pick", new { })).StatusCode);
    }

    [Fact]
    public async Task A_senior_answering_in_the_knowledge_bases_words_keeps_the_askers_wording_as_an_alias()
    {
        await LoadFixtureAsync();
        using var agent = gateway.Agent();
        using var senior = gateway.Agent(GatewayCluster.AcmeSenior);
        const string wording = "is there some way to get the jacket wrapped as a present";

        var asked = await (await agent.PostAsJsonAsync("/v1/kb/ask", new { question = wording })).Content.ReadFromJsonAsync<AskResult>(GatewayCluster.Json);
        await agent.PostAsync($"/v1/kb/questions/{asked!.QuestionId}/escalate", null);
        var answered = await (await senior.PostAsJsonAsync($"/v1/kb/questions/{asked.QuestionId}/answer", new { question = "Do you offer gift wrapping for jackets?", answer = "Yes, choose Gift wrap at checkout (3 EUR)." }))
            .Content.ReadFromJsonAsync<KbQuestion>(GatewayCluster.Json);

        var entry = await agent.GetFromJsonAsync<KbEntry>($"/v1/kb/entries/{answered!.EntryId}", GatewayCluster.Json);
        Assert.Equal(("Do you offer gift wrapping for jackets?", "senior-answer"), (entry!.Question, entry.Source));
        Assert.Equal([wording], entry.Aliases);
        var again = await (await agent.PostAsJsonAsync("/v1/kb/ask", new { question = "Is there a way to get the jacket wrapped as a present?" })).Content.ReadFromJsonAsync<AskResult>(GatewayCluster.Json);
        Assert.Equal(entry.EntryId, again!.Match?.EntryId);
        await senior.DeleteAsync($"/v1/kb/entries/{entry.EntryId}");
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

    [Fact]
    public async Task An_agent_cannot_pick_an_entry_nobody_offered_nor_escalate_or_pick_for_someone_elses_question()
    {
        await LoadFixtureAsync();
        using var asker = gateway.Agent();
        using var other = gateway.Agent(GatewayTestOptions.AcmeOtherAgent);
        using var senior = gateway.Agent(GatewayCluster.AcmeSenior);
        var asked = await (await asker.PostAsJsonAsync("/v1/kb/ask", new { question = $"Can I pay in instalments for item {Guid.NewGuid():N}?" }))
            .Content.ReadFromJsonAsync<AskResult>(GatewayCluster.Json);
        var offered = asked!.Similar.Select(s => s.EntryId).ToHashSet();
        var notOffered = (await senior.GetFromJsonAsync<List<KbEntry>>("/v1/kb/export", GatewayCluster.Json))!.First(e => !offered.Contains(e.EntryId)).EntryId;

        using var pickNotOffered = await asker.PostAsJsonAsync($"/v1/kb/questions/{asked.QuestionId}/pick", new { entryId = notOffered });
        using var pickByOther = await other.PostAsJsonAsync($"/v1/kb/questions/{asked.QuestionId}/pick", new { entryId = asked.Similar[0].EntryId });
        using var escalateByOther = await other.PostAsync($"/v1/kb/questions/{asked.QuestionId}/escalate", null);

        Assert.Equal(HttpStatusCode.BadRequest, pickNotOffered.StatusCode);
        Assert.Contains("was not offered", await pickNotOffered.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, pickByOther.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, escalateByOther.StatusCode);
        Assert.Equal("Unanswered", (await asker.GetFromJsonAsync<KbQuestion>($"/v1/kb/questions/{asked.QuestionId}", GatewayCluster.Json))!.Status.ToString());

        // The asker, and a senior, may.
        Assert.Equal(HttpStatusCode.OK, (await senior.PostAsync($"/v1/kb/questions/{asked.QuestionId}/escalate", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await asker.PostAsJsonAsync($"/v1/kb/questions/{asked.QuestionId}/pick", new { entryId = asked.Similar[0].EntryId })).StatusCode);
    }
}
