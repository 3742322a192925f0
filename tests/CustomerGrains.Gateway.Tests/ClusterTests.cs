using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace CustomerGrains.Gateway.Tests;

/// <summary>
/// What operators rely on, with real silo processes on one PostgreSQL database: a kill -9 is noticed only through the
/// others' probes, a SIGTERM is the signal an orchestrator sends, a silo started later joins the running cluster.
/// </summary>
public sealed class ClusterTests
{
    /// <summary>The gateway's test tenants as configuration for a silo process.</summary>
    private static IReadOnlyDictionary<string, string?> Tenants => GatewayTestOptions.Create("http://127.0.0.1:9").Configuration;

    [Fact]
    public async Task Kill_9_of_one_of_three_silos_while_webhooks_arrive_loses_and_duplicates_nothing_and_its_customers_answer_within_5_s()
    {
        await using var database = await TestDatabase.CreateAsync();
        var silos = new List<SiloProcess>();
        try
        {
            foreach (var _ in Enumerable.Range(0, 3))
            {
                silos.Add(await SiloProcess.StartAsync(database, Tenants));
            }

            var victim = silos[2];
            var clients = silos.Select(s => s.CreateClient()).ToArray();
            var deliveries = new ConcurrentQueue<int>(Enumerable.Range(0, 500).OrderBy(_ => Random.Shared.Next()));
            var acknowledged = new ConcurrentBag<int>();
            var killedAt = new TaskCompletionSource<long>();
            var senders = Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
            {
                while (deliveries.TryDequeue(out var message))
                {
                    var customer = message % 50;
                    var body = Payloads.Standard($"kill-{customer}", $"m-{message}", $"message {message}");
                    using var request = new HttpRequestMessage(HttpMethod.Post, "/webhooks/standard/crm1") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
                    foreach (var (name, value) in Signing.Standard(body, $"wh-kill-{message}", DateTimeOffset.UtcNow))
                    {
                        request.Headers.TryAddWithoutValidation(name, value);
                    }

                    try
                    {
                        using var response = await clients[message % 3].SendAsync(request);
                        if (response.StatusCode == HttpStatusCode.OK)
                        {
                            acknowledged.Add(message);
                        }
                    }
                    catch (HttpRequestException)
                    {
                        // sent to the killed silo: never acknowledged, so the CRM would send it again
                    }

                    if (acknowledged.Count >= 150 && !killedAt.Task.IsCompleted && killedAt.TrySetResult(0))
                    {
                        await victim.KillAsync();
                        killedAt.TrySetResult(Stopwatch.GetTimestamp());
                    }
                }
            })).ToList();

            await Task.WhenAll(senders);
            Assert.True(victim.HasExited);
            Assert.True(acknowledged.Count >= 300, $"only {acknowledged.Count} of 500 deliveries were acknowledged");

            // Every acknowledged event reaches its customer, exactly once: the victim's unfinished deliveries are
            // claimed again by the survivors.
            var expected = acknowledged.Select(m => $"m-{m}").ToArray();
            var delivered = await Eventually.TrueAsync(
                async () => await database.ScalarAsync<long>("SELECT count(DISTINCT event_id) FROM customer_interactions WHERE event_id = ANY($1)", new object[] { expected }) == expected.Length,
                TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(250));
            Assert.True(delivered, $"{await database.ScalarAsync<long>("SELECT count(DISTINCT event_id) FROM customer_interactions WHERE event_id = ANY($1)", new object[] { expected })} of {expected.Length} acknowledged events reached a customer");
            Assert.Equal(0L, await database.ScalarAsync<long>("SELECT count(*) FROM (SELECT event_id FROM customer_interactions GROUP BY event_id HAVING count(*) > 1) AS twice"));

            // Every customer, those the victim held too, answers from the survivors.
            using var agent = silos[0].CreateClient();
            agent.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", GatewayTestOptions.AcmeAgent);
            agent.Timeout = TimeSpan.FromSeconds(10);
            var customers = acknowledged.Select(m => m % 50).Distinct().ToArray();
            foreach (var customer in customers)
            {
                using var response = await agent.GetAsync($"/v1/customers/standard:kill-{customer}/context");
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }

            Assert.Equal(6, await database.ScalarAsync<int>("SELECT status FROM OrleansMembershipTable WHERE port = $1", victim.OrleansPort));
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
    public async Task The_customers_of_a_killed_silo_answer_again_on_the_survivors_within_5_s()
    {
        await using var database = await TestDatabase.CreateAsync();
        var silos = new List<SiloProcess>();
        try
        {
            foreach (var _ in Enumerable.Range(0, 3))
            {
                silos.Add(await SiloProcess.StartAsync(database, Tenants));
            }

            // 60 customers, made through every silo, so that each silo holds some.
            for (var c = 0; c < 60; c++)
            {
                using var client = silos[c % 3].CreateClient();
                client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", GatewayTestOptions.AcmeAgent);
                (await client.PostAsJsonAsync($"/v1/customers/standard:recover-{c}/interactions", new { eventId = $"e-{c}", text = "hello" })).EnsureSuccessStatusCode();
            }

            var victim = silos[2];
            Assert.True(await ActivationsOnAsync(victim, "CustomerGrain") > 0, "the victim holds no customer");
            await victim.KillAsync();
            var killed = Stopwatch.StartNew();

            using var agent = silos[0].CreateClient();
            agent.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", GatewayTestOptions.AcmeAgent);
            var answered = await Task.WhenAll(Enumerable.Range(0, 60).Select(async c =>
            {
                while (killed.Elapsed < TimeSpan.FromSeconds(30))
                {
                    try
                    {
                        using var response = await agent.GetAsync($"/v1/customers/standard:recover-{c}/context");
                        if (response.IsSuccessStatusCode)
                        {
                            return killed.Elapsed;
                        }
                    }
                    catch (HttpRequestException)
                    {
                    }

                    await Task.Delay(50);
                }

                return TimeSpan.MaxValue;
            }));

            Assert.True(answered.Max() < TimeSpan.FromSeconds(5), $"the last customer answered {answered.Max().TotalSeconds:0.0} s after the kill");
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
    public async Task SIGTERM_hands_the_webhooks_a_silo_acknowledged_but_had_not_delivered_to_the_others_at_once()
    {
        // A claim that would outlast the test: only the handover at stop can bring the leaving silo's rows through.
        var configuration = new Dictionary<string, string?>(Tenants)
        {
            ["Inbox:ClaimTimeout"] = "00:10:00",
            ["Logging:LogLevel:CustomerGrains.Gateway.Inbox"] = "Information",
        };
        await using var database = await TestDatabase.CreateAsync();
        await using var leaving = await SiloProcess.StartAsync(database, configuration);
        await using var staying = await SiloProcess.StartAsync(database, configuration);
        using var client = leaving.CreateClient();

        // A burst larger than two cores deliver at once, and the stop as soon as it is acknowledged.
        var acknowledged = await Task.WhenAll(Enumerable.Range(0, 1500).Chunk(50).Select(async chunk =>
        {
            var ok = 0;
            foreach (var message in chunk)
            {
                var body = Payloads.Standard($"handover-{message % 200}", $"h-{message}", $"message {message}");
                using var request = new HttpRequestMessage(HttpMethod.Post, "/webhooks/standard/crm1") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
                foreach (var (name, value) in Signing.Standard(body, $"wh-handover-{message}", DateTimeOffset.UtcNow))
                {
                    request.Headers.TryAddWithoutValidation(name, value);
                }

                using var response = await client.SendAsync(request);
                ok += response.StatusCode == HttpStatusCode.OK ? 1 : 0;
            }

            return ok;
        }));
        Assert.Equal(1500, acknowledged.Sum());
        Assert.Equal(0, await leaving.TerminateAsync(TimeSpan.FromSeconds(30)));

        var delivered = await Eventually.TrueAsync(
            async () => await database.ScalarAsync<long>("SELECT count(*) FROM inbox WHERE status = 'done'") == 1500,
            TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(250));
        Assert.True(delivered, $"{await database.ScalarAsync<long>("SELECT count(*) FROM inbox WHERE status <> 'done'")} rows still wait for their claim to expire\n{leaving.Output}");
        Assert.Equal(1500L, await database.ScalarAsync<long>("SELECT count(DISTINCT event_id) FROM customer_interactions WHERE event_id LIKE 'h-%'"));
    }

    [Fact]
    public async Task Replies_queued_on_a_silo_killed_while_the_crm_is_down_are_each_sent_once_by_the_others_when_it_is_back()
    {
        await using var crm = await FakeCrm.StartAsync();
        crm.FailAll = 503;
        var configuration = new Dictionary<string, string?>(Tenants)
        {
            ["Tenants:acme:Connections:crm1:Options:ReplyUrl"] = $"{crm.BaseUrl.TrimEnd('/')}/reply",
            ["Replies:PollInterval"] = "00:00:00.200",
            ["Replies:ClaimTimeout"] = "00:00:20",
            ["Replies:MaxAttempts"] = "12",
        };
        await using var database = await TestDatabase.CreateAsync();
        await using var doomed = await SiloProcess.StartAsync(database, configuration);
        await using var survivor = await SiloProcess.StartAsync(database, configuration);
        using var toDoomed = Agent(doomed);
        using var toSurvivor = Agent(survivor);
        var body = Payloads.Standard("killed-replies", "kr-1", "Where is my parcel?");
        using (var webhook = new HttpRequestMessage(HttpMethod.Post, "/webhooks/standard/crm1") { Content = new StringContent(body, Encoding.UTF8, "application/json") })
        {
            foreach (var (name, value) in Signing.Standard(body, "wh-kr-1", DateTimeOffset.UtcNow))
            {
                webhook.Headers.TryAddWithoutValidation(name, value);
            }

            using var client = doomed.CreateClient();
            (await client.SendAsync(webhook)).EnsureSuccessStatusCode();
        }

        Assert.True(await Eventually.TrueAsync(async () => (await toDoomed.GetAsync("/v1/customers/standard:killed-replies/context")).IsSuccessStatusCode, TimeSpan.FromSeconds(20)));
        var locations = new List<Uri>();
        for (var i = 0; i < 10; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/customers/standard:killed-replies/replies") { Content = JsonContent.Create(new { text = $"Reply {i}" }) };
            request.Headers.Add("Idempotency-Key", $"killed-{i}");
            using var accepted = await toDoomed.SendAsync(request);
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
            locations.Add(accepted.Headers.Location!);
        }

        // The silo has tried them against the CRM that is down; then it dies, and the CRM comes back.
        Assert.True(await Eventually.TrueAsync(() => crm.Received.Count(r => r.Status == 503) >= 10, TimeSpan.FromSeconds(20)), "the doomed silo never tried");
        await doomed.KillAsync();
        crm.FailAll = null;

        var sent = await Eventually.TrueAsync(async () =>
        {
            foreach (var location in locations)
            {
                // Until the others have voted the killed silo dead, a call may be answered 503 (README): asked again.
                using var response = await toSurvivor.GetAsync(location);
                if (!response.IsSuccessStatusCode || (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString() != "sent")
                {
                    return false;
                }
            }

            return true;
        }, TimeSpan.FromSeconds(90), TimeSpan.FromMilliseconds(500));
        Assert.True(sent, "not every reply was sent by the survivor");
        var delivered = crm.Received.Where(r => r.Status == 200).Select(r => r.Body!["reply"]!["text"]!.GetValue<string>()).ToList();
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"Reply {i}").Order(), delivered.Order()); // each once
    }

    [Fact]
    public async Task SIGTERM_answers_what_it_accepted_leaves_the_cluster_and_exits_0_within_30_s()
    {
        await using var database = await TestDatabase.CreateAsync();
        await using var leaving = await SiloProcess.StartAsync(database, Tenants);
        await using var staying = await SiloProcess.StartAsync(database, Tenants);
        using var toLeaving = Agent(leaving);
        using var toStaying = Agent(staying);

        // Traffic keeps coming while the silo stops, as it does until a load balancer sees /health/ready fail. A request
        // the leaving silo accepted is answered; one it no longer accepts fails to connect, and goes to the other silo
        // (as a load balancer retries).
        var stored = new ConcurrentBag<int>();
        var serverErrors = new ConcurrentBag<string>();
        var stop = new CancellationTokenSource();
        var next = -1;
        var senders = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var i = Interlocked.Increment(ref next);
                var body = new { eventId = $"d-{i}", text = "still there?" };
                HttpResponseMessage response;
                try
                {
                    response = await toLeaving.PostAsJsonAsync($"/v1/customers/standard:drain-{i % 10}/interactions", body);
                }
                catch (HttpRequestException)
                {
                    response = await toStaying.PostAsJsonAsync($"/v1/customers/standard:drain-{i % 10}/interactions", body);
                }

                using (response)
                {
                    if (response.IsSuccessStatusCode)
                    {
                        stored.Add(i);
                    }
                    else
                    {
                        serverErrors.Add($"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                    }
                }
            }
        })).ToList();

        Assert.True(await Eventually.TrueAsync(() => stored.Count >= 40, TimeSpan.FromSeconds(30)), "nothing was stored before the stop");
        var stopwatch = Stopwatch.StartNew();
        var exitCode = await leaving.TerminateAsync(TimeSpan.FromSeconds(30));
        var stoppedIn = stopwatch.Elapsed;
        var storedAtStop = stored.Count;
        Assert.True(await Eventually.TrueAsync(() => stored.Count >= storedAtStop + 20, TimeSpan.FromSeconds(30)), "nothing was stored after the stop");
        await stop.CancelAsync();
        await Task.WhenAll(senders);

        Assert.Equal(0, exitCode);
        Assert.True(stoppedIn < TimeSpan.FromSeconds(30), $"took {stoppedIn}");
        Assert.True(serverErrors.IsEmpty, string.Join("\n", serverErrors));
        Assert.Equal(6, await database.ScalarAsync<int>("SELECT status FROM OrleansMembershipTable WHERE port = $1", leaving.OrleansPort));

        // Every request answered 2xx is stored once, and the customers the leaving silo held answer from the other.
        var total = 0;
        for (var c = 0; c < 10; c++)
        {
            var context = await toStaying.GetFromJsonAsync<JsonElement>($"/v1/customers/standard:drain-{c}/context");
            total += context.GetProperty("stats").GetProperty("interactions").GetInt32();
        }

        Assert.Equal(stored.Count, total);
        Assert.True(stored.Count > 20, $"only {stored.Count} requests were answered");
    }

    [Fact]
    public async Task A_silo_started_later_joins_the_running_cluster_and_takes_new_activations()
    {
        await using var database = await TestDatabase.CreateAsync();
        await using var first = await SiloProcess.StartAsync(database, Tenants);
        await using var later = await SiloProcess.StartAsync(database, Tenants);

        Assert.Equal(2L, await database.ScalarAsync<long>("SELECT count(*) FROM OrleansMembershipTable WHERE status = 3"));

        // Requests spread over both, as a load balancer spreads them: new customers activate on the new silo too.
        using var toFirst = Agent(first);
        using var toLater = Agent(later);
        for (var c = 0; c < 40; c++)
        {
            (await (c % 2 == 0 ? toFirst : toLater).PostAsJsonAsync($"/v1/customers/standard:join-{c}/interactions", new { eventId = $"j-{c}", text = "hi" })).EnsureSuccessStatusCode();
        }

        Assert.True(await ActivationsOnAsync(later, "CustomerGrain") > 0, "the silo that joined later holds no customer");
    }

    [Fact]
    public async Task The_silo_exits_1_naming_postgres_when_it_is_unreachable_and_2_listing_every_configuration_error()
    {
        var (unreachable, unreachableOutput) = await SiloProcess.RunToExitAsync(new Dictionary<string, string?>
        {
            ["Database:ConnectionString"] = "Host=127.0.0.1;Port=1;Username=postgres;Database=nowhere;Timeout=2",
            ["Silo:Port"] = "0",
        });
        var (invalid, invalidOutput) = await SiloProcess.RunToExitAsync(new Dictionary<string, string?>
        {
            ["Database:ConnectionString"] = "",
            ["Silo:Port"] = "99999",
            ["Orleans:ProbeTimeout"] = "soon",
            ["Orleans:AdvertisedIP"] = "somewhere",
            ["Knowledge:EmbeddingModel"] = "nope",
            ["Inference:MaxBatch"] = "0",
        });

        Assert.Equal(1, unreachable);
        Assert.Contains("PostgreSQL is unreachable (Host=127.0.0.1;Port=1", unreachableOutput, StringComparison.Ordinal);
        Assert.Equal(2, invalid);
        Assert.Contains("Database:ConnectionString must be set", invalidOutput, StringComparison.Ordinal);
        Assert.Contains("Silo:Port 99999 is not a TCP port", invalidOutput, StringComparison.Ordinal);
        Assert.Contains("'soon' at 'Orleans:ProbeTimeout'", invalidOutput, StringComparison.Ordinal);
        Assert.Contains("Knowledge:EmbeddingModel 'nope' is not among Inference:Models", invalidOutput, StringComparison.Ordinal);
        Assert.Contains("Inference:MaxBatch and Inference:MaxTokensInFlight must be positive", invalidOutput, StringComparison.Ordinal);
    }

    private static HttpClient Agent(SiloProcess silo)
    {
        var client = silo.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", GatewayTestOptions.AcmeAgent);
        return client;
    }

    /// <summary>Activations of a grain class on this silo.</summary>
    private static async Task<int> ActivationsOnAsync(SiloProcess silo, string grainClass) =>
        (await silo.ActivationsAsync(grainClass)).GetValueOrDefault(silo.OrleansPort);

    [Fact]
    public async Task The_scaling_drill_adds_two_silos_drains_the_first_and_loses_fails_or_duplicates_nothing()
    {
        var log = new StringWriter();
        var result = await ScalingDrill.RunAsync(new DrillOptions(TimeSpan.FromSeconds(4), WebhooksPerSecond: 20, ReadsPerSecond: 10, Customers: 60), log);

        Assert.True(result.Failures == 0, log.ToString());
        Assert.True(result.Acknowledged > 100, log.ToString());
        Assert.Equal(0, result.Missing);
        Assert.Equal(0, result.Duplicates);
        Assert.Equal(0, result.DrainExitCode);
        Assert.Equal([result.DrainedPort], result.ActivationsBefore.Where(a => a.Value > 0).Select(a => a.Key)); // one silo held every customer
        Assert.Equal(0, result.ActivationsAfter.GetValueOrDefault(result.DrainedPort));                            // the drained one holds none
        Assert.True(result.ActivationsAfter.Count(a => a.Value > 0) == 2, log.ToString());                         // the two added hold them now
    }
}
