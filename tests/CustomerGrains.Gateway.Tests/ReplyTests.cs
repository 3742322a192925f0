using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CustomerGrains.Gateway.Replies;
using CustomerGrains.Grains;

namespace CustomerGrains.Gateway.Tests;

/// <summary>
/// An agent's reply goes from the API into the CRM conversation the customer is in, through each vendor's documented
/// API (played by <see cref="FakeCrm"/>): durably, once per Idempotency-Key, late when the CRM is down or rate-limits,
/// and its webhook echo is recognised as the reply already in the history.
/// </summary>
public sealed class ReplyTests : IAsyncLifetime
{
    private FakeCrm _crm = null!;
    private TestCluster _cluster = null!;
    private static int _next = Random.Shared.Next(1_000_000, 9_000_000);

    public async Task InitializeAsync()
    {
        _crm = await FakeCrm.StartAsync();
        var options = GatewayTestOptions.Create(_crm.BaseUrl);
        var c = options.Configuration;
        c["Replies:PollInterval"] = "00:00:00.200";
        c["Replies:MaxAttempts"] = "4";
        foreach (var connection in new[] { "cw1", "zd1", "ic1" })
        {
            c[$"Tenants:acme:Connections:{connection}:Options:ApiBaseUrl"] = _crm.BaseUrl;
        }

        c["Tenants:acme:Connections:cw1:Options:AccessToken"] = FakeCrm.Token;
        c["Tenants:acme:Connections:cw1:Options:AccountId"] = "1";
        c["Tenants:acme:Connections:zd1:Options:Email"] = FakeCrm.ZendeskEmail;
        c["Tenants:acme:Connections:zd1:Options:ApiToken"] = FakeCrm.Token;
        c["Tenants:acme:Connections:ic1:Options:AccessToken"] = FakeCrm.Token;
        c["Tenants:acme:Connections:ic1:Options:AdminId"] = "5";
        c["Tenants:acme:Connections:hs1:Options:SenderActorId"] = "A-1";
        c["Tenants:acme:Connections:crm1:Options:ReplyUrl"] = $"{_crm.BaseUrl.TrimEnd('/')}/reply";
        _cluster = await TestCluster.StartAsync(1, options);
    }

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        await _crm.DisposeAsync();
    }

    private HttpClient Agent()
    {
        var client = _cluster.Silos[0].CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", GatewayTestOptions.AcmeAgent);
        return client;
    }

    private async Task WebhookAsync(string path, string body, Dictionary<string, string> headers)
    {
        using var client = _cluster.Silos[0].CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        (await client.SendAsync(request)).EnsureSuccessStatusCode();
    }

    /// <summary>The customer's message arriving by webhook, and the same provider's echo of a reply with its id.</summary>
    private (string Identity, Func<Task> CustomerWrites, Func<string, string, Task> EchoOf) Conversation(string provider)
    {
        var n = Interlocked.Increment(ref _next);
        var now = DateTimeOffset.UtcNow;
        var hubspot = new Uri(_cluster.Silos[0].PublicUrl, "/webhooks/hubspot/hs1");
        switch (provider)
        {
            case "chatwoot":
                return ($"chatwoot@cw1:{n}", // acme has two Chatwoot connections
                    () => Send("/webhooks/chatwoot/cw1", Payloads.Chatwoot(n, n, "Where is my parcel?"), (b, _) => Signing.Chatwoot(b, now)),
                    (id, text) => Send("/webhooks/chatwoot/cw1", Payloads.Chatwoot(int.Parse(id), n, text, messageType: "outgoing"), (b, _) => Signing.Chatwoot(b, now)));
            case "zendesk":
                return ($"zendesk:{n}",
                    () => Send("/webhooks/zendesk/zd1", Payloads.Zendesk($"evt-{n}", n, n, "Where is my parcel?"), (b, _) => Signing.Zendesk(b, now)),
                    (id, text) => Send("/webhooks/zendesk/zd1", Payloads.Zendesk($"evt-{n}-echo", long.Parse(id), n, text, byStaff: true), (b, _) => Signing.Zendesk(b, now)));
            case "intercom":
                return ($"intercom:contact{n}",
                    () => Send("/webhooks/intercom/ic1", Payloads.Intercom($"conv{n}", $"contact{n}", $"part{n}", "Where is my parcel?"), (b, _) => Signing.Intercom(b)),
                    (id, text) => Send("/webhooks/intercom/ic1", Payloads.Intercom($"conv{n}", $"contact{n}", id.Split(':')[1], text, authorType: "admin"), (b, _) => Signing.Intercom(b)));
            case "hubspot":
                _crm.HubSpotMessages[$"m{n}"] = Payloads.HubSpotMessage($"m{n}", "Where is my parcel?", contactId: $"{n}");
                return ($"hubspot:{n}",
                    () => Send("/webhooks/hubspot/hs1", Payloads.HubSpot(n, $"m{n}", now.ToUnixTimeMilliseconds()), (b, _) => Signing.HubSpot(b, hubspot, now)),
                    (id, text) =>
                    {
                        _crm.HubSpotMessages[id] = Payloads.HubSpotMessage(id, text, direction: "OUTGOING", contactId: $"{n}");
                        return Send("/webhooks/hubspot/hs1", Payloads.HubSpot(n, id, now.ToUnixTimeMilliseconds() + 1), (b, _) => Signing.HubSpot(b, hubspot, now));
                    });
            default:
                return ($"standard:crm-{n}",
                    () => Send("/webhooks/standard/crm1", Payloads.Standard($"crm-{n}", $"msg-{n}", "Where is my parcel?"), (b, _) => Signing.Standard(b, $"wh_{n}", now)),
                    (id, text) => Send("/webhooks/standard/crm1", Payloads.Standard($"crm-{n}", id, text, direction: "outbound"), (b, _) => Signing.Standard(b, $"wh_{n}_echo", now)));
        }

        Task Send(string path, string body, Func<string, int, Dictionary<string, string>> sign) => WebhookAsync(path, body, sign(body, 0));
    }

    private async Task<ReplyView> WaitForAsync(HttpClient agent, Uri location, ReplyStatus status)
    {
        ReplyView? reply = null;
        var reached = await Eventually.TrueAsync(async () =>
        {
            reply = await agent.GetFromJsonAsync<ReplyView>(location, GatewayCluster.Json);
            return reply!.Status == status;
        }, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(100));
        Assert.True(reached, $"the reply stayed {reply?.Status}: {reply?.Error}");
        return reply!;
    }

    private static Task<HttpResponseMessage> ReplyAsync(HttpClient agent, string customer, object body, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/customers/{customer}/replies") { Content = JsonContent.Create(body) };
        request.Headers.Add("Idempotency-Key", key);
        return agent.SendAsync(request);
    }

    [Theory]
    [InlineData("chatwoot")]
    [InlineData("zendesk")]
    [InlineData("intercom")]
    [InlineData("hubspot")]
    [InlineData("standard")]
    public async Task A_reply_reaches_the_crm_once_joins_the_history_under_the_crms_id_and_its_echo_is_not_stored_twice(string provider)
    {
        var (customer, customerWrites, echoOf) = Conversation(provider);
        await customerWrites();
        using var agent = Agent();
        Assert.True(await Eventually.TrueAsync(async () => (await agent.GetAsync($"/v1/customers/{customer}/context")).IsSuccessStatusCode, TimeSpan.FromSeconds(20)));
        var key = Guid.NewGuid().ToString();

        using var accepted = await ReplyAsync(agent, customer, new { text = "It left our warehouse today." }, key);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var sent = await WaitForAsync(agent, accepted.Headers.Location!, ReplyStatus.Sent);
        using var again = await ReplyAsync(agent, customer, new { text = "It left our warehouse today." }, key); // a retried request

        Assert.Equal(sent.ReplyId, (await again.Content.ReadFromJsonAsync<ReplyView>(GatewayCluster.Json))!.ReplyId);
        var request = Assert.Single(_crm.Sent(provider), r => r.Body?.ToJsonString().Contains("It left our warehouse today.", StringComparison.Ordinal) == true);
        Assert.NotNull(sent.MessageId);

        // In the history at once, under the CRM's id; the CRM's webhook echo of it then adds nothing.
        var context = (await agent.GetFromJsonAsync<CustomerContext>($"/v1/customers/{customer}/context", GatewayCluster.Json))!;
        var outbound = Assert.Single(context.Recent, t => t.Direction == InteractionDirection.Outbound);
        Assert.Equal((sent.MessageId, "It left our warehouse today."), (outbound.EventId, outbound.Text));
        await echoOf(sent.MessageId!, "It left our warehouse today.");
        Assert.True(await Eventually.TrueAsync(
            async () => await _cluster.Database.ScalarAsync<long>("SELECT count(*) FROM inbox WHERE status = 'pending'") == 0, TimeSpan.FromSeconds(20)));
        Assert.Equal(2, (await agent.GetFromJsonAsync<CustomerContext>($"/v1/customers/{customer}/context", GatewayCluster.Json))!.Stats.Interactions);
        Assert.Single(_crm.Sent(provider), r => r == request);
    }

    [Fact]
    public async Task A_crm_that_rate_limits_and_then_fails_gets_the_reply_late_once_after_its_retry_after_and_a_refusal_fails_with_the_reason()
    {
        var (customer, customerWrites, _) = Conversation("zendesk");
        await customerWrites();
        using var agent = Agent();
        Assert.True(await Eventually.TrueAsync(async () => (await agent.GetAsync($"/v1/customers/{customer}/context")).IsSuccessStatusCode, TimeSpan.FromSeconds(20)));

        _crm.Failures.Enqueue(429); // Retry-After: 1
        _crm.Failures.Enqueue(503);
        var before = _crm.Sent("zendesk").Count();
        using var late = await ReplyAsync(agent, customer, new { text = "Sorry for the wait." }, Guid.NewGuid().ToString());
        var sent = await WaitForAsync(agent, late.Headers.Location!, ReplyStatus.Sent);

        var attempts = _crm.Sent("zendesk").Skip(before).ToList();
        Assert.Equal(3, attempts.Count);
        Assert.True(attempts[1].At - attempts[0].At >= TimeSpan.FromSeconds(0.9), $"retried after {(attempts[1].At - attempts[0].At).TotalSeconds} s, not after the Retry-After");
        Assert.Equal(3, sent.Attempts);

        _crm.Failures.Enqueue(400);
        using var refused = await ReplyAsync(agent, customer, new { text = "This one the CRM refuses." }, Guid.NewGuid().ToString());
        var failed = await WaitForAsync(agent, refused.Headers.Location!, ReplyStatus.Failed);
        Assert.Contains("400", failed.Error, StringComparison.Ordinal);
        Assert.Equal(1, failed.Attempts); // a refusal is not retried
    }

    [Fact]
    public async Task A_reply_is_refused_with_the_reason_for_a_do_not_contact_customer_another_conversation_a_connection_without_credentials_and_without_a_key()
    {
        using var agent = Agent();
        var (customer, customerWrites, _) = Conversation("chatwoot");
        await customerWrites();
        Assert.True(await Eventually.TrueAsync(async () => (await agent.GetAsync($"/v1/customers/{customer}/context")).IsSuccessStatusCode, TimeSpan.FromSeconds(20)));

        using var otherConversation = await ReplyAsync(agent, customer, new { text = "Hi", conversationId = "999999" }, Guid.NewGuid().ToString());
        var noKey = await agent.PostAsJsonAsync($"/v1/customers/{customer}/replies", new { text = "Hi" });
        (await agent.PatchAsJsonAsync($"/v1/customers/{customer}/preferences", new { doNotContact = true })).EnsureSuccessStatusCode();
        using var doNotContact = await ReplyAsync(agent, customer, new { text = "Hi" }, Guid.NewGuid().ToString());
        using var note = await ReplyAsync(agent, customer, new { text = "Customer asked for no contact.", @private = true }, Guid.NewGuid().ToString());

        // Globex's Chatwoot connection has no API credentials.
        using var globex = _cluster.Silos[0].CreateClient();
        globex.DefaultRequestHeaders.Authorization = new("Bearer", GatewayTestOptions.GlobexAdmin);
        var n = Interlocked.Increment(ref _next);
        var body = Payloads.Chatwoot(n, n, "Hello globex");
        await WebhookAsync("/webhooks/chatwoot/gcw", body, Signing.Chatwoot(body, DateTimeOffset.UtcNow));
        // The customer is found as soon as their identity is stored; their message, which names the conversation, may
        // come a moment later: wait for it.
        Assert.True(await Eventually.TrueAsync(async () =>
            await globex.GetAsync($"/v1/customers/chatwoot:{n}/interactions") is { IsSuccessStatusCode: true } found
            && (await found.Content.ReadFromJsonAsync<ConversationPage>(GatewayCluster.Json))!.Items.Count > 0, TimeSpan.FromSeconds(20)));
        using var noCredentials = await ReplyAsync(globex, $"chatwoot:{n}", new { text = "Hi" }, Guid.NewGuid().ToString());

        Assert.Equal(HttpStatusCode.Conflict, otherConversation.StatusCode);
        Assert.Contains("not in conversation '999999'", await otherConversation.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, noKey.StatusCode);
        Assert.Contains("Idempotency-Key", await noKey.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Conflict, doNotContact.StatusCode);
        Assert.Contains("not to be contacted", await doNotContact.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Accepted, note.StatusCode); // a private note still goes
        Assert.Equal(HttpStatusCode.Conflict, noCredentials.StatusCode);
        Assert.Contains("Tenants:globex:Connections:gcw:Options:ApiBaseUrl", await noCredentials.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var sentNote = await WaitForAsync(agent, note.Headers.Location!, ReplyStatus.Sent);
        Assert.True(sentNote.Private);
        Assert.True(_crm.Sent("chatwoot").Last().Body!["private"]!.GetValue<bool>());
    }

    private async Task<SuggestionReport> ReportAsync(DateTimeOffset from)
    {
        using var admin = _cluster.Silos[0].CreateClient();
        admin.DefaultRequestHeaders.Authorization = new("Bearer", GatewayTestOptions.AcmeAdmin);
        return (await admin.GetFromJsonAsync<SuggestionReport>(
            $"/v1/reports/suggestions?from={Uri.EscapeDataString(from.ToString("O"))}&to={Uri.EscapeDataString(DateTimeOffset.UtcNow.AddMinutes(1).ToString("O"))}", GatewayCluster.Json))!;
    }

    [Fact]
    public async Task The_report_counts_replies_sent_as_suggested_edited_or_written_without_one_by_agent_including_those_typed_in_the_crm()
    {
        using var senior = _cluster.Silos[0].CreateClient();
        senior.DefaultRequestHeaders.Authorization = new("Bearer", GatewayTestOptions.AcmeSenior);
        (await senior.PostAsync("/v1/kb/import", new StringContent(File.ReadAllText(Fixtures.Path("kb", "support-kb.json")), System.Text.Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
        // The CRM's own messages carry their own times (the test payloads' are in late November): a window around them.
        var from = DateTimeOffset.UtcNow.AddDays(-60);
        var before = await ReportAsync(from);
        var (customer, customerWrites, echoOf) = Conversation("zendesk");
        await customerWrites();
        using var agent = Agent();
        Assert.True(await Eventually.TrueAsync(async () => (await agent.GetAsync($"/v1/customers/{customer}/context")).IsSuccessStatusCode, TimeSpan.FromSeconds(20)));
        using var asked = await agent.PostAsJsonAsync($"/v1/customers/{customer}/suggestions", new { message = "How do I return an item and get my refund?", count = 2 });
        var result = await asked.Content.ReadFromJsonAsync<SuggestionResult>(GatewayCluster.Json);
        var suggested = result!.Suggestions;
        Assert.True(suggested.Count >= 2, $"{asked.StatusCode}: {result.Reason}");
        Assert.True(suggested.Count >= 2, $"{suggested.Count} suggestions to send");

        // As suggested, edited, and the agent's own; then one an agent typed in Zendesk itself.
        foreach (var body in new object[]
                 {
                     new { text = suggested[0].Text, suggestionId = suggested[0].Id },
                     new { text = suggested[1].Text.Replace("Tracking", "Tracking today", StringComparison.Ordinal) + " Thanks!", suggestionId = suggested[1].Id },
                     new { text = "Let me check with the courier." },
                 })
        {
            using var sent = await ReplyAsync(agent, customer, body, Guid.NewGuid().ToString());
            await WaitForAsync(agent, sent.Headers.Location!, ReplyStatus.Sent);
        }

        await echoOf("777000", "Typed in Zendesk by hand.");
        Assert.True(await Eventually.TrueAsync(
            async () => await _cluster.Database.ScalarAsync<long>("SELECT count(*) FROM inbox WHERE status = 'pending'") == 0, TimeSpan.FromSeconds(20)));

        var after = await ReportAsync(from);
        SuggestionUsage Delta(string agent) => after.Agents.Single(a => a.Agent == agent) is var now && before.Agents.SingleOrDefault(a => a.Agent == agent) is { } was
            ? now with { Replies = now.Replies - was.Replies, AsSuggested = now.AsSuggested - was.AsSuggested, Edited = now.Edited - was.Edited, Written = now.Written - was.Written }
            : now;
        var byKey = Delta(after.Agents.Single(a => a.Agent!.StartsWith("key:", StringComparison.Ordinal)).Agent!);
        var inZendesk = Delta("Kim (agent)");

        Assert.Equal((3, 1, 1, 1), (byKey.Replies, byKey.AsSuggested, byKey.Edited, byKey.Written));
        Assert.InRange(after.Agents.Single(a => a.Agent == byKey.Agent).MeanEditDistance!.Value, 0.01, 0.5);
        Assert.Equal((1, 1), (inZendesk.Replies, inZendesk.Written));
        Assert.Equal(before.Tenant.Replies + 4, after.Tenant.Replies);
        Assert.Equal(HttpStatusCode.Forbidden, (await agent.GetAsync("/v1/reports/suggestions")).StatusCode);
    }
}
