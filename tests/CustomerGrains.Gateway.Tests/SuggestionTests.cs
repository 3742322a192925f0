using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using CustomerGrains.Grains;
using CustomerGrains.Inference;
using Microsoft.Extensions.DependencyInjection;

namespace CustomerGrains.Gateway.Tests;

/// <summary>Reply suggestions in silos that also run the inference pool: on the tiny decoder with a script (its reply
/// reads as one, citing the first source), or on the committed tiny model itself, whose random weights write noise.</summary>
public sealed class SuggestionTests : IAsyncLifetime
{
    private const string Script = "Your order has been shipped [S1]. Thank you for contacting support!";

    private static readonly Lazy<string> Scripted = new(() =>
    {
        var folder = ScratchFolder.Create("cg-scripted-");
        ModelMaker.TinyDecoder.WriteScripted(folder, ModelMaker.DecoderSize.Tiny, Script, (path, text) =>
        {
            using var tokenizer = Inference.Tokenization.TextTokenizer.Load(path);
            return tokenizer.Encode(text);
        });
        return folder;
    });

    private readonly RecordingObserver _prompts = new();
    private FakeHubSpot _hubSpot = null!;
    private TestCluster _cluster = null!;

    /// <summary>Records every prompt the model gets; can also hold the model up, as a slow model would.</summary>
    private sealed class RecordingObserver : IInferenceObserver
    {
        public ConcurrentQueue<string> Prompts { get; } = new();

        public TimeSpan Delay { get; set; }

        public async ValueTask OnPromptAsync(string model, string prompt)
        {
            Prompts.Enqueue(prompt);
            await Task.Delay(Delay);
        }
    }

    public async Task InitializeAsync()
    {
        _hubSpot = await FakeHubSpot.StartAsync();
        _cluster = await TestCluster.StartAsync(1, Options(Scripted.Value));
        using var senior = Client(GatewayTestOptions.AcmeSenior);
        (await senior.PostAsync("/v1/kb/import", new StringContent(File.ReadAllText(Fixtures.Path("kb", "support-kb.json")), Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
    }

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        await _hubSpot.DisposeAsync();
    }

    private TestClusterOptions Options(string? model)
    {
        var options = GatewayTestOptions.Create(_hubSpot.BaseUrl);
        options.Configuration["Tenants:acme:Assistant:Tone"] = "warm";
        options.Configuration["Tenants:acme:Assistant:BrandRules"] = "Never promise delivery dates.";
        if (model is not null)
        {
            options.Configuration["Inference:Models:default:Path"] = model;
        }

        var configure = options.ConfigureSilo!;
        options.ConfigureSilo = builder =>
        {
            configure(builder);
            builder.Services.AddInference(builder.Configuration);
            builder.Services.AddSingleton<IInferenceObserver>(_prompts);
        };
        return options;
    }

    private HttpClient Client(string key, TestCluster? cluster = null)
    {
        var client = (cluster ?? _cluster).Silos[0].CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", key);
        return client;
    }

    private static async Task IngestAsync(HttpClient agent, string customer, string text, object? facts = null) =>
        (await agent.PostAsJsonAsync($"/v1/customers/{customer}/interactions", new { eventId = Guid.NewGuid().ToString(), text, customer = facts })).EnsureSuccessStatusCode();

    [Fact]
    public async Task The_prompt_holds_both_sides_of_the_conversation_in_order_so_drafts_know_what_the_agent_already_said()
    {
        using var agent = Client(GatewayTestOptions.AcmeAgent);
        var at = DateTimeOffset.UtcNow.AddMinutes(-10);
        foreach (var (text, direction, minute) in new[] { ("Where is my parcel?", "inbound", 0), ("It left today; I will send the tracking link tomorrow.", "outbound", 1), ("Thanks! Any news?", "inbound", 2) })
        {
            (await agent.PostAsJsonAsync("/v1/customers/standard:both-sides/interactions", new { eventId = Guid.NewGuid().ToString(), text, direction, occurredAt = at.AddMinutes(minute) }))
                .EnsureSuccessStatusCode();
        }

        (await agent.PostAsJsonAsync("/v1/customers/standard:both-sides/suggestions", new { count = 1 })).EnsureSuccessStatusCode();

        var prompt = _prompts.Prompts.Last();
        var customerFirst = prompt.IndexOf("customer: Where is my parcel?", StringComparison.Ordinal);
        var agentThen = prompt.IndexOf("agent: It left today; I will send the tracking link tomorrow.", StringComparison.Ordinal);
        var customerAgain = prompt.IndexOf("customer: Thanks! Any news?", StringComparison.Ordinal);
        Assert.True(customerFirst >= 0 && agentThen > customerFirst && customerAgain > agentThen, prompt);
        Assert.Contains("follow up on what they promised", prompt, StringComparison.Ordinal);
        Assert.Contains("Message to answer: Thanks! Any news?", prompt, StringComparison.Ordinal); // the customer's last, not the agent's
    }

    [Fact]
    public async Task Two_customers_asking_the_same_get_prompts_shaped_by_their_context_and_the_sources_come_back()
    {
        using var agent = Client(GatewayTestOptions.AcmeAgent);
        await IngestAsync(agent, "standard:anna", "Hello", new { name = "Anna Schmidt", language = "de" });
        await agent.PatchAsJsonAsync("/v1/customers/standard:anna/preferences", new { tone = "formal", topics = new[] { "billing" } });
        await IngestAsync(agent, "standard:oleg", "Привет", new { name = "Oleg Petrov", language = "ru" });
        await agent.PatchAsJsonAsync("/v1/customers/standard:oleg/preferences", new { tone = "casual", doNotContact = true });

        var anna = await (await agent.PostAsJsonAsync("/v1/customers/standard:anna/suggestions", new { message = "Where is my order?", count = 2 })).Content.ReadFromJsonAsync<SuggestionResult>(GatewayCluster.Json);
        var annaPrompt = _prompts.Prompts.Last();
        var oleg = await (await agent.PostAsJsonAsync("/v1/customers/standard:oleg/suggestions", new { message = "Where is my order?", count = 2 })).Content.ReadFromJsonAsync<SuggestionResult>(GatewayCluster.Json);
        var olegPrompt = _prompts.Prompts.Last();

        Assert.NotEqual(annaPrompt, olegPrompt);
        Assert.Contains("Write in German", annaPrompt, StringComparison.Ordinal);
        Assert.Contains("wants a formal tone", annaPrompt, StringComparison.Ordinal);
        Assert.Contains("interested in billing", annaPrompt, StringComparison.Ordinal);
        Assert.Contains("Customer: [NAME_1]", annaPrompt, StringComparison.Ordinal); // the name is personal data too: drafts get it back
        Assert.DoesNotContain("Anna", annaPrompt, StringComparison.Ordinal);
        Assert.Contains("Write in Russian", olegPrompt, StringComparison.Ordinal);
        Assert.Contains("do not offer marketing", olegPrompt, StringComparison.Ordinal);
        foreach (var prompt in new[] { annaPrompt, olegPrompt })
        {
            Assert.Contains("Tone: warm", prompt, StringComparison.Ordinal);
            Assert.Contains("Never promise delivery dates.", prompt, StringComparison.Ordinal);
            Assert.Contains("[S1] Q: Where is my order? A: Track it", prompt, StringComparison.Ordinal);
        }

        foreach (var result in new[] { anna!, oleg! })
        {
            Assert.StartsWith("kb_", result.Sources[0].Id, StringComparison.Ordinal);
            Assert.StartsWith("Track it", result.Sources[0].Text, StringComparison.Ordinal);
        }

        // Anna's drafts are the model's, citing the source they rest on.
        Assert.False(anna!.Degraded, anna.Reason);
        Assert.Equal("default", anna.Model);
        Assert.Equal([SuggestionKind.Generated, SuggestionKind.Generated], anna.Suggestions.Take(2).Select(s => s.Kind)); // the drafts lead
        Assert.All(anna.Suggestions.Take(2), s =>
        {
            Assert.Equal(Script, s.Text);
            Assert.Equal([anna.Sources[0].Id], s.Sources);
            Assert.False(s.Unverified);
        });
        Assert.All(anna.Suggestions.Skip(2), s => Assert.Equal(SuggestionKind.Retrieved, s.Kind)); // the retrieved answers back them up

        // The model writes English and Oleg reads Russian: its drafts never reach his agent. No entry is in Russian, so
        // the English ones the English question found are offered, marked as English for the agent to see.
        Assert.True(oleg!.Degraded);
        Assert.Contains("not usable text", oleg.Reason, StringComparison.Ordinal);
        Assert.Contains("No knowledge-base answer in Russian matches the message; these are in English", oleg.Reason, StringComparison.Ordinal);
        Assert.NotEmpty(oleg.Suggestions);
        Assert.All(oleg.Suggestions, s => Assert.Equal((SuggestionKind.Retrieved, "en"), (s.Kind, s.Language)));
        Assert.All(anna.Suggestions, s => Assert.Equal(s.Kind == SuggestionKind.Retrieved ? "en" : null, s.Language)); // the entries are English, Anna reads German

        Assert.Equal(("de", "ru"), (anna!.Language, oleg!.Language));
    }

    [Fact]
    public async Task A_prompt_too_long_for_the_model_loses_its_oldest_turns_first_and_still_fits()
    {
        using var agent = Client(GatewayTestOptions.AcmeAgent);
        for (var turn = 1; turn <= 6; turn++)
        {
            await IngestAsync(agent, "standard:long", $"TURN-{turn}: " + string.Concat(Enumerable.Repeat($"My parcel number {turn} has not arrived and I keep waiting. ", 20)));
        }

        var result = await (await agent.PostAsJsonAsync("/v1/customers/standard:long/suggestions", new { message = "Where is my parcel?", count = 1 }))
            .Content.ReadFromJsonAsync<SuggestionResult>(GatewayCluster.Json);

        // Six such turns alone are more than the tiny model's 2,048 positions.
        Assert.False(result!.Degraded, result.Reason);
        var prompt = _prompts.Prompts.Last();
        var fit = await _cluster.Silos[0].GrainFactory.GetGrain<IInferenceGrain>("default").CountTokensAsync(prompt);
        Assert.True(fit.Tokens + 96 <= fit.Context, $"a prompt of {fit.Tokens} tokens was sent to a context of {fit.Context}");
        var kept = Enumerable.Range(1, 6).Where(turn => prompt.Contains($"TURN-{turn}:", StringComparison.Ordinal)).ToList();
        Assert.DoesNotContain(1, kept);
        Assert.Equal(Enumerable.Range(7 - kept.Count, kept.Count), kept); // the newest ones, if any
        Assert.Equal(result.Sources.Count, Enumerable.Range(1, 9).Count(i => prompt.Contains($"[S{i}] ", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Personal_data_never_reaches_the_model()
    {
        using var agent = Client(GatewayTestOptions.AcmeAgent);
        await IngestAsync(agent, "standard:pii", "My email is ann.lee@example.com and my phone +49 170 1234567.", new { name = "Ann Lee", email = "ann.lee@example.com" });
        const string message = "Refund to IBAN DE89 3704 0044 0532 0130 00 or card 4111 1111 1111 1111, order 12345678; mail ann.lee@example.com";

        var result = await (await agent.PostAsJsonAsync("/v1/customers/standard:pii/suggestions", new { message, count = 1 })).Content.ReadFromJsonAsync<SuggestionResult>(GatewayCluster.Json);

        var prompt = _prompts.Prompts.Last();
        foreach (var secret in new[] { "ann.lee@example.com", "170 1234567", "DE89 3704", "4111 1111" })
        {
            Assert.DoesNotContain(secret, prompt, StringComparison.Ordinal);
        }

        Assert.Contains("[IBAN_1]", prompt, StringComparison.Ordinal);
        Assert.Contains("[CARD_1]", prompt, StringComparison.Ordinal);
        Assert.Contains("[EMAIL_1]", prompt, StringComparison.Ordinal);
        Assert.Contains("[PHONE_1]", prompt, StringComparison.Ordinal);
        Assert.Contains("order 12345678", prompt, StringComparison.Ordinal);
        Assert.False(result!.Degraded);
    }

    [Fact]
    public async Task A_model_on_its_own_server_drafts_suggestions_from_masked_chat_turns_and_its_failure_degrades_to_retrieval()
    {
        await using var server = await FakeModelServer.StartAsync();
        server.Reply = "You can start the return under Orders > Return; we email a prepaid label [S1].";
        var options = Options(model: null);
        options.Configuration["Inference:Models:default:Endpoint"] = server.BaseUrl;
        options.Configuration["Inference:Models:default:ApiKey"] = FakeModelServer.ApiKey;
        options.Configuration["Inference:Models:default:ModelId"] = "qwen2.5-7b-instruct";
        await using var remote = await TestCluster.StartAsync(1, options);
        using (var senior = Client(GatewayTestOptions.AcmeSenior, remote))
        {
            (await senior.PostAsync("/v1/kb/import", new StringContent(File.ReadAllText(Fixtures.Path("kb", "support-kb.json")), Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
        }

        using var agent = Client(GatewayTestOptions.AcmeAgent, remote);
        await IngestAsync(agent, "standard:remote", "How do I return an item? Write to ann.lee@example.com", new { name = "Ann Lee", email = "ann.lee@example.com" });
        var result = await (await agent.PostAsJsonAsync("/v1/customers/standard:remote/suggestions", new { count = 2 })).Content.ReadFromJsonAsync<SuggestionResult>(GatewayCluster.Json);

        Assert.True(!result!.Degraded, result.Reason);
        Assert.Equal([SuggestionKind.Generated, SuggestionKind.Generated], result.Suggestions.Take(2).Select(s => s.Kind));
        Assert.Equal(server.Reply, result.Suggestions[0].Text);
        Assert.False(result.Suggestions[0].Unverified); // it cites [S1], the return entry
        var sent = server.Requests.Last();
        Assert.Equal("qwen2.5-7b-instruct", sent["model"]!.GetValue<string>());
        Assert.DoesNotContain("ann.lee@example.com", sent.ToJsonString(), StringComparison.Ordinal);
        Assert.Contains("[EMAIL_1]", sent["messages"]![1]!["content"]!.GetValue<string>(), StringComparison.Ordinal);

        // The server down: the knowledge base's answers stand alone, with the server's answer as the reason.
        server.FailWith = 503;
        var degraded = await (await agent.PostAsJsonAsync("/v1/customers/standard:remote/suggestions", new { count = 2 })).Content.ReadFromJsonAsync<SuggestionResult>(GatewayCluster.Json);
        Assert.True(degraded!.Degraded);
        Assert.Contains("503", degraded.Reason, StringComparison.Ordinal);
        Assert.NotEmpty(degraded.Suggestions);
        Assert.All(degraded.Suggestions, s => Assert.Equal(SuggestionKind.Retrieved, s.Kind));
    }

    [Fact]
    public async Task A_model_slower_than_the_deadline_gives_retrieval_suggestions_marked_degraded()
    {
        using var agent = Client(GatewayTestOptions.AcmeAgent);
        await IngestAsync(agent, "standard:slow", "Hi", new { language = "ru" });
        _prompts.Delay = TimeSpan.FromSeconds(2);
        try
        {
            using var response = await agent.PostAsJsonAsync("/v1/customers/standard:slow/suggestions", new { message = "где мои посылки", deadlineMs = 300 });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var result = await response.Content.ReadFromJsonAsync<SuggestionResult>(GatewayCluster.Json);

            Assert.True(result!.Degraded);
            Assert.Contains("deadline of 300 ms", result.Reason, StringComparison.Ordinal);
            Assert.True(result.LatencyMs < 1500, $"took {result.LatencyMs} ms");
            var first = result.Suggestions[0];
            Assert.Equal(SuggestionKind.Retrieved, first.Kind);
            Assert.StartsWith("Здравствуйте!", first.Text, StringComparison.Ordinal); // the customer's language only
            Assert.Contains("Отслеживайте", first.Text, StringComparison.Ordinal);
            Assert.All(result.Suggestions, s => Assert.DoesNotMatch("[A-Za-z]{4,}", s.Text));
            Assert.False(first.Unverified);
            Assert.StartsWith("kb_", Assert.Single(first.Sources), StringComparison.Ordinal);
        }
        finally
        {
            _prompts.Delay = TimeSpan.Zero;
        }
    }

    [Fact]
    public async Task Without_a_model_suggestions_come_from_retrieval_with_the_reason_never_a_5xx()
    {
        await using var noModel = await TestCluster.StartAsync(1, Options(model: null));
        using (var senior = Client(GatewayTestOptions.AcmeSenior, noModel))
        {
            (await senior.PostAsync("/v1/kb/import", new StringContent(File.ReadAllText(Fixtures.Path("kb", "support-kb.json")), Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
        }

        using var agent = Client(GatewayTestOptions.AcmeAgent, noModel);
        await IngestAsync(agent, "standard:nomodel", "How do I return an item?");

        using var response = await agent.PostAsJsonAsync("/v1/customers/standard:nomodel/suggestions", new { });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = await response.Content.ReadFromJsonAsync<SuggestionResult>(GatewayCluster.Json);
        Assert.True(result!.Degraded);
        Assert.Contains("No generative model 'default' is configured", result.Reason, StringComparison.Ordinal);
        Assert.Equal("Hello!\n\nStart a return under Orders > Return within 30 days; we email a prepaid label.\n\nIf there is anything else, just reply to this message and we will help.", result.Suggestions[0].Text);
        Assert.All(result.Suggestions, s => Assert.Equal(SuggestionKind.Retrieved, s.Kind));

        // Once an agent has sent that answer (in their own words around it), it is not offered again.
        (await agent.PostAsJsonAsync("/v1/customers/standard:nomodel/interactions", new
        {
            eventId = Guid.NewGuid().ToString(), direction = "outbound", author = "Kim (agent)",
            text = "Hi! Start a return under Orders > Return within 30 days; we email a prepaid label. Kim",
        })).EnsureSuccessStatusCode();
        await IngestAsync(agent, "standard:nomodel", "How do I return an item? I still have it.");
        var after = await (await agent.PostAsJsonAsync("/v1/customers/standard:nomodel/suggestions", new { count = 3 })).Content.ReadFromJsonAsync<SuggestionResult>(GatewayCluster.Json);
        Assert.DoesNotContain(after!.Suggestions, s => s.Text.Contains("prepaid label", StringComparison.Ordinal));

        // Fitted to the customer: their name and tone, the order they mention, their language only.
        await IngestAsync(agent, "standard:oleg-nomodel", "Привет", new { name = "Oleg Petrov", language = "ru" });
        await agent.PatchAsJsonAsync("/v1/customers/standard:oleg-nomodel/preferences", new { tone = "casual" });
        var oleg = await (await agent.PostAsJsonAsync("/v1/customers/standard:oleg-nomodel/suggestions", new { message = "Где мой заказ 48213? Его всё ещё нет.", count = 3 }))
            .Content.ReadFromJsonAsync<SuggestionResult>(GatewayCluster.Json);
        Assert.NotEmpty(oleg!.Suggestions);
        Assert.All(oleg.Suggestions, s =>
        {
            Assert.StartsWith("Привет, Oleg!\n\nПо вашему заказу 48213:", s.Text, StringComparison.Ordinal);
            Assert.DoesNotMatch("[A-Za-z]{4,}", s.Text.Replace("Oleg", "", StringComparison.Ordinal)); // no English answer
            Assert.StartsWith("kb_", Assert.Single(s.Sources), StringComparison.Ordinal);
        });
        Assert.Equal("ru", oleg.Language);
    }

    /// <summary>Reads a server-sent event stream: (event, data) pairs.</summary>
    private static async Task<List<(string Event, System.Text.Json.JsonElement Data)>> ReadEventsAsync(HttpResponseMessage response)
    {
        var events = new List<(string, System.Text.Json.JsonElement)>();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        string? name = null;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                name = line[7..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                events.Add((name ?? "message", System.Text.Json.JsonDocument.Parse(line[6..]).RootElement.Clone()));
            }
        }

        return events;
    }

    private static async Task<HttpResponseMessage> StreamAsync(HttpClient agent, string customer, object body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/customers/{customer}/suggestions") { Content = JsonContent.Create(body) };
        request.Headers.Accept.ParseAdd("text/event-stream");
        return await agent.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    [Fact]
    public async Task Streamed_suggestions_come_as_retrieved_answers_then_drafts_as_written_then_the_audited_record()
    {
        using var agent = Client(GatewayTestOptions.AcmeAgent);
        await IngestAsync(agent, "standard:stream", "Hi, where is my order 1234?", new { name = "Ann Lee", language = "en" });

        using var response = await StreamAsync(agent, "standard:stream", new { count = 2 });
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = await ReadEventsAsync(response);

        Assert.Equal("retrieved", events[0].Event);
        var retrieved = events[0].Data.GetProperty("suggestions").EnumerateArray().ToList();
        Assert.NotEmpty(retrieved);
        Assert.All(retrieved, s => Assert.StartsWith("Hello, Ann Lee!", s.GetProperty("text").GetString(), StringComparison.Ordinal));
        var drafts = events.Where(e => e.Event == "draft").GroupBy(e => e.Data.GetProperty("draft").GetInt32()).ToList();
        Assert.Equal(2, drafts.Count);
        Assert.All(drafts, d => Assert.True(d.Count() > 3, "a draft came in one piece, not as it was written"));
        Assert.All(drafts, d => Assert.Equal(Script, string.Concat(d.Select(e => e.Data.GetProperty("text").GetString()))));
        Assert.Equal("result", events[^1].Event);
        var result = events[^1].Data.GetProperty("result");
        Assert.False(result.GetProperty("degraded").GetBoolean());
        var final = result.GetProperty("suggestions").EnumerateArray().ToList();
        Assert.Equal(["generated", "generated"], final.Take(2).Select(s => s.GetProperty("kind").GetString()));
        Assert.Equal(retrieved.Select(s => s.GetProperty("id").GetString()), final.Skip(2).Select(s => s.GetProperty("id").GetString()));

        // What was streamed is what was audited: a retrieved answer shown first can be accepted.
        Assert.Equal(HttpStatusCode.NoContent, (await agent.PostAsJsonAsync($"/v1/suggestions/{retrieved[0].GetProperty("id").GetString()}/feedback", new { outcome = "accepted" })).StatusCode);

        // An unknown customer is refused before the stream starts, with Problem Details.
        using var unknown = await StreamAsync(agent, "standard:nobody-here", new { });
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Noise_a_model_writes_never_reaches_the_agent()
    {
        await using var noisy = await TestCluster.StartAsync(1, Options(Fixtures.Path("tiny-decoder"))); // random weights
        using (var senior = Client(GatewayTestOptions.AcmeSenior, noisy))
        {
            (await senior.PostAsync("/v1/kb/import", new StringContent(File.ReadAllText(Fixtures.Path("kb", "support-kb.json")), Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
        }

        using var agent = Client(GatewayTestOptions.AcmeAgent, noisy);
        await IngestAsync(agent, "standard:noise", "Hi, where is my order 1234? It was supposed to arrive yesterday.", new { name = "Ann Lee", language = "en" });

        var result = await (await agent.PostAsJsonAsync("/v1/customers/standard:noise/suggestions", new { count = 3 })).Content.ReadFromJsonAsync<SuggestionResult>(GatewayCluster.Json);

        using var streamed = await StreamAsync(agent, "standard:noise", new { count = 3 });
        var events = await ReadEventsAsync(streamed);

        Assert.True(result!.Degraded);
        Assert.Contains("3 draft(s) were not usable text", result.Reason, StringComparison.Ordinal);
        Assert.Equal(3, events.Count(e => e.Event == "dropped")); // streamed, each noisy draft is withdrawn ...
        Assert.All(events.Where(e => e.Event == "draft"), e =>         // ... before anything not in English shows
        {
            var text = e.Data.GetProperty("text").GetString()!;
            Assert.DoesNotContain('\uFFFD', text);
            Assert.DoesNotMatch("\\p{IsCyrillic}", text);
        });
        Assert.True(events[^1].Data.GetProperty("result").GetProperty("degraded").GetBoolean());
        Assert.NotEmpty(result.Suggestions);
        Assert.All(result.Suggestions, s =>
        {
            Assert.Equal(SuggestionKind.Retrieved, s.Kind);
            Assert.StartsWith("Hello, Ann Lee!\n\nAbout your order 1234:", s.Text, StringComparison.Ordinal);
            Assert.DoesNotContain('\uFFFD', s.Text);
            Assert.DoesNotMatch("\\p{IsCyrillic}", s.Text);
        });
    }

    [Fact]
    public async Task Feedback_is_recorded_once_and_accepted_replies_become_sources_for_similar_messages()
    {
        using var agent = Client(GatewayTestOptions.AcmeAgent);
        await IngestAsync(agent, "standard:fb", "Hi");
        var first = await (await agent.PostAsJsonAsync("/v1/customers/standard:fb/suggestions", new { message = "Can I get a discount for my loyalty membership?", count = 1 }))
            .Content.ReadFromJsonAsync<SuggestionResult>(GatewayCluster.Json);
        var id = first!.Suggestions[0].Id;

        var edited = await agent.PostAsJsonAsync($"/v1/suggestions/{id}/feedback", new { outcome = "edited", finalText = "Members get 10% off with the code LOYAL10." });
        var again = await agent.PostAsJsonAsync($"/v1/suggestions/{id}/feedback", new { outcome = "rejected" });
        var invalid = await agent.PostAsJsonAsync($"/v1/suggestions/{id}/feedback", new { outcome = "loved" });
        var unknown = await agent.PostAsJsonAsync("/v1/suggestions/sg_nope/feedback", new { outcome = "accepted" });

        Assert.Equal(HttpStatusCode.NoContent, edited.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        var later = await (await agent.PostAsJsonAsync("/v1/customers/standard:fb/suggestions", new { message = "Is there a discount for loyalty members?", count = 1 }))
            .Content.ReadFromJsonAsync<SuggestionResult>(GatewayCluster.Json);
        Assert.Contains(later!.Sources, s => s.Id == id && s.Text == "Members get 10% off with the code LOYAL10.");
        Assert.Contains("LOYAL10", _prompts.Prompts.Last(), StringComparison.Ordinal);

        // A rejection keeps the agent's reason beside the outcome, for the audit.
        var rejected = later.Suggestions[0].Id;
        var tooLong = await agent.PostAsJsonAsync($"/v1/suggestions/{rejected}/feedback", new { outcome = "rejected", reason = new string('x', 501) });
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await agent.PostAsJsonAsync($"/v1/suggestions/{rejected}/feedback", new { outcome = "rejected", reason = "Wrong order number" })).StatusCode);
        Assert.Equal("Wrong order number", await _cluster.Database.ScalarAsync<string>("SELECT feedback_reason FROM suggestion_audit WHERE suggestion_id = $1", rejected));
    }
}
