using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using CustomerGrains.Gateway.History;
using CustomerGrains.Grains;
using static CustomerGrains.Testing.FakeCrmHistory;

namespace CustomerGrains.Gateway.Tests;

/// <summary>
/// A connection's past conversations come in through its CRM's history API (played by <see cref="FakeCrmHistory"/>,
/// paged as each vendor documents): both sides, notes left out, bounded by the start date, once however often it
/// runs, at the pace the CRM asks for, and resumed from its cursor after a failure or a dead silo; the periodic
/// reconciliation stores a message whose webhook never came.
/// </summary>
public sealed class HistoryTests : IAsyncLifetime
{
    private static long _next = Random.Shared.Next(1_000_000, 9_000_000);
    private FakeCrmHistory _crm = null!;
    private TestCluster? _cluster;

    public async Task InitializeAsync() => _crm = await FakeCrmHistory.StartAsync();

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        await _crm.DisposeAsync();
    }

    private static readonly Dictionary<string, string> Connections = new()
    {
        ["chatwoot"] = "cw1", ["zendesk"] = "zd1", ["intercom"] = "ic1", ["hubspot"] = "hs1",
    };

    /// <summary>The acme tenant, each of its CRM connections reading from the fake's history.</summary>
    private Dictionary<string, string?> Configuration(string? reconcile = null)
    {
        var c = GatewayTestOptions.Create(_crm.BaseUrl).Configuration.ToDictionary();
        c["History:PollInterval"] = "00:00:00.200";
        c["History:LeaseTimeout"] = "00:00:15";
        c["History:MaxAttempts"] = "4";
        foreach (var connection in Connections.Values)
        {
            c[$"Tenants:acme:Connections:{connection}:Options:ApiBaseUrl"] = _crm.BaseUrl;
            c[$"Tenants:acme:Connections:{connection}:Options:AccessToken"] = FakeCrmHistory.Token;
            c[$"Tenants:acme:Connections:{connection}:Options:RequestsPerMinute"] = "60000";
        }

        c["Tenants:acme:Connections:cw1:Options:AccountId"] = "1";
        c["Tenants:acme:Connections:zd1:Options:AccessToken"] = null;
        c["Tenants:acme:Connections:zd1:Options:Email"] = FakeCrmHistory.ZendeskEmail;
        c["Tenants:acme:Connections:zd1:Options:ApiToken"] = FakeCrmHistory.Token;
        if (reconcile is not null)
        {
            c["Tenants:acme:Connections:cw1:Options:ReconcileEvery"] = reconcile;
        }

        return c;
    }

    private async Task<TestCluster> ClusterAsync(string? reconcile = null)
    {
        var options = GatewayTestOptions.Create(_crm.BaseUrl);
        foreach (var (key, value) in Configuration(reconcile))
        {
            options.Configuration[key] = value;
        }

        return _cluster = await TestCluster.StartAsync(1, options);
    }

    private static HttpClient Client(Uri url, string key)
    {
        var client = new HttpClient { BaseAddress = url };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    /// <summary>Conversations of fresh contacts: a customer's question, an agent's answer, a note, a bot's message, a
    /// follow-up, and one message from before the start date. Returns the contact ids.</summary>
    private List<long> Seed(int conversations, DateTimeOffset since, int extraMessages = 0)
    {
        var contacts = new List<long>();
        for (var i = 0; i < conversations; i++)
        {
            var contact = Interlocked.Increment(ref _next);
            var id = contact * 100;
            var at = since.AddMinutes(10 + i);
            List<Message> messages =
            [
                new(id + 1, Kind.Customer, "An old question from before", since.AddDays(-3)),
                new(id + 2, Kind.Customer, $"Where is order {contact}?", at),
                new(id + 3, Kind.Agent, "It left the warehouse today, tracking follows.", at.AddMinutes(1), "Kim (agent)"),
                new(id + 4, Kind.Note, "internal: customer called twice", at.AddMinutes(2)),
                new(id + 5, Kind.Bot, "Was this answer helpful?", at.AddMinutes(3)),
                new(id + 6, Kind.Customer, "Thanks, got the tracking link.", at.AddMinutes(4)),
            ];
            for (var m = 0; m < extraMessages; m++)
            {
                messages.Add(new(id + 10 + m, m % 2 == 0 ? Kind.Customer : Kind.Agent, $"message {m}", at.AddMinutes(5 + m)));
            }

            _crm.Add(new Conversation(id, contact, $"Customer {contact}", $"c{contact}@example.com", messages));
            contacts.Add(contact);
        }

        return contacts;
    }

    private static async Task<HistoryRun> ImportAsync(HttpClient admin, string connection, DateTimeOffset? since)
    {
        var started = await admin.PostAsJsonAsync($"/v1/connections/{connection}/import", new { since });
        Assert.True(started.StatusCode == HttpStatusCode.Accepted, await started.Content.ReadAsStringAsync());
        return await WaitForAsync(admin, connection, r => r.Status != HistoryStatus.Running);
    }

    private static async Task<HistoryRun> WaitForAsync(HttpClient admin, string connection, Func<HistoryRun, bool> condition, int seconds = 60)
    {
        HistoryRun? run = null;
        var reached = await Eventually.TrueAsync(async () =>
        {
            run = await admin.GetFromJsonAsync<HistoryRun>($"/v1/connections/{connection}/import", GatewayCluster.Json);
            return condition(run!);
        }, TimeSpan.FromSeconds(seconds), TimeSpan.FromMilliseconds(100));
        Assert.True(reached, $"the import stayed {run?.Status} ({run?.Messages} messages, {run?.Error})");
        return run!;
    }

    private static async Task<List<Interaction>> HistoryOfAsync(HttpClient agent, string identity, int expected)
    {
        List<Interaction> items = [];
        await Eventually.TrueAsync(async () =>
        {
            var response = await agent.GetAsync($"/v1/customers/{identity}/interactions?limit=200");
            items = response.IsSuccessStatusCode
                ? [.. (await response.Content.ReadFromJsonAsync<ConversationPage>(GatewayCluster.Json))!.Items.Select(i => i.Interaction).Reverse()]
                : [];
            return items.Count >= expected;
        }, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(100));
        return items;
    }

    [Theory]
    [InlineData("chatwoot")]
    [InlineData("zendesk")]
    [InlineData("intercom")]
    [InlineData("hubspot")]
    public async Task An_import_stores_both_sides_since_the_start_date_once_however_often_it_runs_and_waits_when_told_to(string provider)
    {
        var connection = Connections[provider];
        var since = DateTimeOffset.UtcNow.AddDays(-1);
        _crm.ConversationsPerPage = 2;
        var contacts = Seed(5, since); // three pages of conversations
        _crm.Failures.Enqueue(429); // the CRM's first answer: slow down
        var cluster = await ClusterAsync();
        using var admin = Client(cluster.Silos[0].PublicUrl, GatewayTestOptions.AcmeAdmin);
        using var agent = Client(cluster.Silos[0].PublicUrl, GatewayTestOptions.AcmeAgent);

        var run = await ImportAsync(admin, connection, since);
        Assert.True(run.Status == HistoryStatus.Done, run.Error);
        Assert.Equal(5, run.Conversations);
        Assert.Equal(5 * 4, run.Messages); // question, answer, bot, follow-up: not the note, not the old one
        Assert.Equal(run.Messages, run.Queued);
        Assert.Equal(1, run.Throttled);

        foreach (var contact in contacts)
        {
            var history = await HistoryOfAsync(agent, $"{provider}@{connection}:{contact}", 4);
            Assert.Equal(
                [$"Where is order {contact}?", "It left the warehouse today, tracking follows.", "Was this answer helpful?", "Thanks, got the tracking link."],
                history.Select(i => i.Text));
            Assert.Equal([InteractionDirection.Inbound, InteractionDirection.Outbound, InteractionDirection.Outbound, InteractionDirection.Inbound], history.Select(i => i.Direction));
            Assert.Equal("Kim (agent)", history[1].Author);
            Assert.False(history[1].FromBot);
            if (provider != "zendesk") // Zendesk's comments say no more of a bot than of an agent
            {
                Assert.True(history[2].FromBot, "the bot's message is marked as a bot's");
            }
        }

        // Again, from the same date: everything read again, nothing new anywhere.
        var again = await ImportAsync(admin, connection, since);
        Assert.Equal(HistoryStatus.Done, again.Status);
        Assert.Equal(run.Messages, again.Messages);
        Assert.Equal(0, again.Queued);
        await Task.Delay(500); // anything the second run had queued would be delivered by now
        foreach (var contact in contacts)
        {
            Assert.Equal(4, (await HistoryOfAsync(agent, $"{provider}@{connection}:{contact}", 4)).Count);
        }
    }

    /// <summary>The path of each vendor's list of conversations.</summary>
    private static readonly Dictionary<string, string> ListPaths = new()
    {
        ["chatwoot"] = "/api/v1/accounts/1/conversations", ["zendesk"] = "/api/v2/incremental/tickets/cursor.json",
        ["intercom"] = "/conversations", ["hubspot"] = "/conversations/v3/conversations/threads",
    };

    [Theory]
    [InlineData("chatwoot")]
    [InlineData("zendesk")]
    [InlineData("intercom")]
    [InlineData("hubspot")]
    public async Task An_import_the_CRM_stops_fails_with_its_answer_and_resumes_from_its_cursor_storing_each_message_once(string provider)
    {
        var connection = Connections[provider];
        var since = DateTimeOffset.UtcNow.AddDays(-1);
        _crm.ConversationsPerPage = 2;
        var contacts = Seed(6, since);
        _crm.Delay = TimeSpan.FromMilliseconds(30);
        var cluster = await ClusterAsync();
        using var admin = Client(cluster.Silos[0].PublicUrl, GatewayTestOptions.AcmeAdmin);
        using var agent = Client(cluster.Silos[0].PublicUrl, GatewayTestOptions.AcmeAgent);

        (await admin.PostAsJsonAsync($"/v1/connections/{connection}/import", new { since })).EnsureSuccessStatusCode();
        await WaitForAsync(admin, connection, r => r.Conversations >= 3);
        _crm.FailAll = 401; // the token revoked mid-way
        var failed = await WaitForAsync(admin, connection, r => r.Status != HistoryStatus.Running);
        Assert.Equal(HistoryStatus.Failed, failed.Status);
        Assert.Contains("401", failed.Error, StringComparison.Ordinal);
        Assert.InRange(failed.Conversations, 3, 5);

        _crm.FailAll = null;
        var listedBefore = _crm.Requests.Count(p => p == ListPaths[provider]);
        var resumed = await admin.PostAsJsonAsync($"/v1/connections/{connection}/import", new { });
        Assert.Equal(HttpStatusCode.Accepted, resumed.StatusCode);
        var done = await WaitForAsync(admin, connection, r => r.Status != HistoryStatus.Running);
        Assert.True(done.Status == HistoryStatus.Done, done.Error);
        Assert.Equal(6, done.Conversations); // counted on from where it stopped, not from the start
        Assert.Equal(6 * 4, done.Messages);
        Assert.Equal(6 * 4, done.Queued);
        var listedAfter = _crm.Requests.Count(p => p == ListPaths[provider]) - listedBefore;
        var whole = 3 + (provider == "chatwoot" ? 1 : 0); // Chatwoot's list ends with an empty page
        Assert.True(listedAfter < whole, $"the resumed import listed {listedAfter} pages of {whole}: it started over");
        foreach (var contact in contacts)
        {
            Assert.Equal(4, (await HistoryOfAsync(agent, $"{provider}@{connection}:{contact}", 4)).Count);
        }
    }

    [Fact]
    public async Task Kill_9_of_the_silo_importing_lets_the_other_silo_finish_from_its_cursor_storing_each_message_once()
    {
        var since = DateTimeOffset.UtcNow.AddDays(-1);
        _crm.ConversationsPerPage = 2;
        var contacts = Seed(8, since);
        _crm.Delay = TimeSpan.FromMilliseconds(100);
        await using var database = await TestDatabase.CreateAsync();
        var configuration = Configuration();
        var silos = new List<SiloProcess>();
        try
        {
            silos.Add(await SiloProcess.StartAsync(database, configuration));
            silos.Add(await SiloProcess.StartAsync(database, configuration));
            using var admin = Client(silos[0].PublicUrl, GatewayTestOptions.AcmeAdmin);
            (await admin.PostAsJsonAsync("/v1/connections/cw1/import", new { since })).EnsureSuccessStatusCode();
            await WaitForAsync(admin, "cw1", r => r.Conversations >= 2);

            // The silo that holds the run's lease: its process id is in the lease's owner.
            await using var connection = new Npgsql.NpgsqlConnection(database.ConnectionString);
            await connection.OpenAsync();
            await using var owner = new Npgsql.NpgsqlCommand("SELECT lease_owner FROM history_runs WHERE connection_id = 'cw1' AND kind = 'import'", connection);
            var holder = (string)(await owner.ExecuteScalarAsync())!;
            var victim = silos.Single(s => holder.Split('/')[1] == s.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            await victim.KillAsync();
            silos.Remove(victim);
            await victim.DisposeAsync();

            using var survivor = Client(silos[0].PublicUrl, GatewayTestOptions.AcmeAdmin);
            var done = await WaitForAsync(survivor, "cw1", r => r.Status != HistoryStatus.Running, seconds: 90);
            Assert.True(done.Status == HistoryStatus.Done, done.Error);
            Assert.Equal(8 * 4, done.Messages);
            using var agent = Client(silos[0].PublicUrl, GatewayTestOptions.AcmeAgent);
            foreach (var contact in contacts)
            {
                var history = await HistoryOfAsync(agent, $"chatwoot@cw1:{contact}", 4);
                Assert.Equal(4, history.Count);
                Assert.Equal(4, history.Select(i => i.EventId).Distinct().Count());
            }
        }
        finally
        {
            foreach (var silo in silos)
            {
                await silo.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Only_admins_import_and_what_cannot_be_read_is_refused_with_the_reason()
    {
        var cluster = await ClusterAsync();
        using var admin = Client(cluster.Silos[0].PublicUrl, GatewayTestOptions.AcmeAdmin);
        using var agent = Client(cluster.Silos[0].PublicUrl, GatewayTestOptions.AcmeAgent);
        using var globex = Client(cluster.Silos[0].PublicUrl, GatewayTestOptions.GlobexAdmin);
        var since = DateTimeOffset.UtcNow.AddDays(-1);

        Assert.Equal(HttpStatusCode.Forbidden, (await agent.PostAsJsonAsync("/v1/connections/cw1/import", new { since })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await globex.PostAsJsonAsync("/v1/connections/cw1/import", new { since })).StatusCode); // acme's
        Assert.Equal(HttpStatusCode.NotFound, (await globex.GetAsync("/v1/connections/cw1/import")).StatusCode);

        var standard = await admin.PostAsJsonAsync("/v1/connections/crm1/import", new { since });
        Assert.Equal(HttpStatusCode.Conflict, standard.StatusCode);
        Assert.Contains("/interactions", await standard.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var noToken = await admin.PostAsJsonAsync("/v1/connections/cw2/import", new { since });
        Assert.Equal(HttpStatusCode.Conflict, noToken.StatusCode);
        Assert.Contains("Tenants:acme:Connections:cw2:Options:ApiBaseUrl", await noToken.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var nothingToResume = await admin.PostAsJsonAsync("/v1/connections/cw1/import", new { });
        Assert.Equal(HttpStatusCode.BadRequest, nothingToResume.StatusCode);
        Assert.Contains("since", await nothingToResume.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var future = await admin.PostAsJsonAsync("/v1/connections/cw1/import", new { since = DateTimeOffset.UtcNow.AddDays(1) });
        Assert.Equal(HttpStatusCode.BadRequest, future.StatusCode);

        var list = await admin.GetFromJsonAsync<List<ConnectionView>>("/v1/connections", GatewayCluster.Json);
        var cw2 = Assert.Single(list!, c => c.Id == "cw2");
        Assert.Contains("Options:AccessToken", cw2.MissingForImport!);
        Assert.Null(Assert.Single(list!, c => c.Id == "crm1").MissingForImport);
        Assert.Equal(HttpStatusCode.Forbidden, (await agent.GetAsync("/v1/connections")).StatusCode);
    }

    [Fact]
    public async Task Reconciliation_stores_messages_whose_webhooks_never_came_and_a_message_that_came_both_ways_is_stored_once()
    {
        var since = DateTimeOffset.UtcNow.AddHours(-2);
        var contact = Seed(1, since)[0];
        var conversation = contact * 100;
        var cluster = await ClusterAsync(reconcile: "00:01:00");
        using var agent = Client(cluster.Silos[0].PublicUrl, GatewayTestOptions.AcmeAgent);

        // The first reconciliation reads the last day: the conversation's four messages, none of which came by webhook.
        var history = await HistoryOfAsync(agent, $"chatwoot@cw1:{contact}", 4);
        Assert.Equal(4, history.Count);

        // The customer's follow-up comes by webhook, and an import reads it again from the CRM: stored once.
        var followUp = (int)(conversation + 7);
        using var client = cluster.Silos[0].CreateClient();
        var body = Payloads.Chatwoot(followUp, (int)contact, "Can I change the address?");
        using var webhook = new HttpRequestMessage(HttpMethod.Post, "/webhooks/chatwoot/cw1") { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
        foreach (var (name, value) in Signing.Chatwoot(body, DateTimeOffset.UtcNow))
        {
            webhook.Headers.TryAddWithoutValidation(name, value);
        }

        (await client.SendAsync(webhook)).EnsureSuccessStatusCode();
        _crm.Add(conversation, new Message(followUp, Kind.Customer, "Can I change the address?", DateTimeOffset.UtcNow));
        Assert.Equal(5, (await HistoryOfAsync(agent, $"chatwoot@cw1:{contact}", 5)).Count);
        using var admin = Client(cluster.Silos[0].PublicUrl, GatewayTestOptions.AcmeAdmin);
        Assert.Equal(HistoryStatus.Done, (await ImportAsync(admin, "cw1", since)).Status);
        await Task.Delay(500); // a duplicate the import had queued would be delivered by now
        Assert.Equal(5, (await HistoryOfAsync(agent, $"chatwoot@cw1:{contact}", 5)).Count);

        var reconciled = await admin.GetFromJsonAsync<List<ConnectionView>>("/v1/connections", GatewayCluster.Json);
        var run = Assert.Single(reconciled!, c => c.Id == "cw1").Reconciliation;
        Assert.NotNull(run);
        Assert.Equal(TimeSpan.FromMinutes(1), Assert.Single(reconciled!, c => c.Id == "cw1").ReconcileEvery);
    }
}
