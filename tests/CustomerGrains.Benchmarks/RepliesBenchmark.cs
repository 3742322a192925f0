using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using CustomerGrains.Testing;

namespace CustomerGrains.Benchmarks;

/// <summary>
/// Replies sent into a CRM (the custom CRM's signed reply.created, received by <see cref="FakeCrm"/>) by 32 agents at
/// once: replies per second, and the 99th percentile from the API's 202 to the CRM receiving the reply; every tenth
/// reply is posted twice with its Idempotency-Key, and none may arrive twice or never. Then a 20,000-message history
/// import of a Chatwoot account (<see cref="FakeCrmHistory"/>): messages per second from the admin's POST until all
/// are in their customers' histories.
/// </summary>
public static class RepliesBenchmark
{
    private const int Agents = 32;
    private const int Customers = 320;
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(10);
    private const int ImportConversations = 500;
    private const int MessagesPerConversation = 40;

    public static async Task<BenchmarkResult> RunAsync()
    {
        await using var crm = await FakeCrm.StartAsync();
        await using var history = await FakeCrmHistory.StartAsync();
        var options = GatewayTestOptions.Create(crm.BaseUrl);
        var c = options.Configuration;
        c["Tenants:acme:Connections:crm1:Options:ReplyUrl"] = $"{crm.BaseUrl.TrimEnd('/')}/reply";
        c["Tenants:acme:Connections:cw1:Options:ApiBaseUrl"] = history.BaseUrl;
        c["Tenants:acme:Connections:cw1:Options:AccessToken"] = FakeCrmHistory.Token;
        c["Tenants:acme:Connections:cw1:Options:AccountId"] = "1";
        c["Tenants:acme:Connections:cw1:Options:RequestsPerMinute"] = "600000"; // the fake is not the limit measured
        c["History:PollInterval"] = "00:00:00.200";
        c["RateLimits:RepliesPerMinute"] = "1000000"; // one key stands for 32 agents here: the system is measured, not the limit
        c["RateLimits:TenantRepliesPerMinute"] = "1000000";
        c["Logging:LogLevel:Default"] = "Warning";
        await using var cluster = await TestCluster.StartAsync(1, options);
        var silo = cluster.Silos[0];
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Agents * 2, UseProxy = false }) { BaseAddress = silo.PublicUrl };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", GatewayTestOptions.AcmeAgent);

        var (sentPerSecond, p99, duplicates, lost, requests) = await SendAsync(http, crm);
        var (importRate, imported, importLost) = await ImportAsync(cluster, history);
        return new BenchmarkResult("replies")
            .Add("sent_per_s", sentPerSecond)
            .Add("p99_send_ms", p99)
            .Add("replies", requests)
            .Add("import_msgs_per_s", importRate)
            .Add("imported", imported)
            .Add("dup", duplicates)
            .Add("lost", lost + importLost);
    }

    private static async Task<(double PerSecond, double P99, int Duplicates, int Lost, int Replies)> SendAsync(HttpClient http, FakeCrm crm)
    {
        // Customers in a conversation of the custom CRM, which replies go back into.
        await Parallel.ForEachAsync(Enumerable.Range(0, Customers), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (n, _) =>
        {
            var body = Payloads.Standard($"reply-bench-{n}", $"q-{n}", "Where is my order?");
            using var request = new HttpRequestMessage(HttpMethod.Post, "/webhooks/standard/crm1") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            foreach (var (name, value) in Signing.Standard(body, $"rb-{n}", DateTimeOffset.UtcNow))
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }

            (await http.SendAsync(request)).EnsureSuccessStatusCode();
        });
        await Task.Delay(1000); // delivered to the customers

        var accepted = new ConcurrentDictionary<string, DateTimeOffset>(); // reply id -> when its 202 came (the fake stamps receipt on the same clock)
        var sequence = 0;
        var clock = Stopwatch.StartNew();
        var agents = Enumerable.Range(0, Agents).Select(agent => Task.Run(async () =>
        {
            while (clock.Elapsed < Window)
            {
                var n = Interlocked.Increment(ref sequence);
                var key = $"bench-{n}";
                for (var attempt = 0; attempt < (n % 10 == 0 ? 2 : 1); attempt++) // every tenth posted twice: one send
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/customers/standard@crm1:reply-bench-{n % Customers}/replies")
                    {
                        Content = JsonContent.Create(new { text = $"Your order {n} ships today." }),
                    };
                    request.Headers.Add("Idempotency-Key", key);
                    using var response = await http.SendAsync(request);
                    if (response.StatusCode != HttpStatusCode.Accepted)
                    {
                        throw new InvalidOperationException($"The reply was answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                    }

                    var reply = await response.Content.ReadFromJsonAsync<AcceptedReply>();
                    accepted.TryAdd(reply!.ReplyId, DateTimeOffset.UtcNow);
                }
            }
        })).ToArray();
        var started = DateTimeOffset.UtcNow;
        await Task.WhenAll(agents);

        // Wait until the CRM has them all (or stops receiving).
        var before = -1;
        while (Received(crm).Count < accepted.Count && Received(crm).Count != before)
        {
            before = Received(crm).Count;
            await Task.Delay(2000);
        }

        var received = Received(crm);
        var byId = received.GroupBy(r => r.Id).ToDictionary(g => g.Key, g => g.ToList());
        var duplicates = byId.Values.Sum(g => g.Count - 1);
        var lost = accepted.Keys.Count(id => !byId.ContainsKey(id));
        var latencies = accepted.Where(a => byId.ContainsKey(a.Key)).Select(a => (byId[a.Key][0].At - a.Value).TotalMilliseconds).Order().ToList();
        var p99 = latencies.Count == 0 ? double.NaN : latencies[(int)Math.Min(latencies.Count - 1, Math.Ceiling(latencies.Count * 0.99) - 1)];
        var last = received.Count == 0 ? started : received.Max(r => r.At);
        var perSecond = byId.Count / (last - started).TotalSeconds;
        Console.WriteLine($"replies sent          {perSecond,10:N0} per s ({byId.Count:N0} of {accepted.Count:N0} accepted; p50 {latencies.ElementAtOrDefault(latencies.Count / 2):N0} ms, p99 {p99:N0} ms from 202 to the CRM)");
        Console.WriteLine($"duplicates {duplicates}, lost {lost} (every tenth reply was posted twice with its Idempotency-Key)");
        return (perSecond, p99, duplicates, lost, accepted.Count);
    }

    private static List<(string Id, DateTimeOffset At)> Received(FakeCrm crm) =>
        [.. crm.Sent("standard").Where(r => r.Status == 200).Select(r => (r.Body!["reply"]!["id"]!.GetValue<string>(), r.At))];

    private sealed record AcceptedReply(string ReplyId);

    private static async Task<(double PerSecond, int Imported, int Lost)> ImportAsync(TestCluster cluster, FakeCrmHistory history)
    {
        var since = DateTimeOffset.UtcNow.AddDays(-30);
        for (var conversation = 1; conversation <= ImportConversations; conversation++)
        {
            var messages = Enumerable.Range(1, MessagesPerConversation).Select(m => new FakeCrmHistory.Message(
                conversation * 1000L + m, m % 2 == 1 ? FakeCrmHistory.Kind.Customer : FakeCrmHistory.Kind.Agent,
                m % 2 == 1 ? $"Question {m} about order {conversation}" : $"Answer {m} about order {conversation}", since.AddHours(conversation).AddMinutes(m))).ToList();
            history.Add(new FakeCrmHistory.Conversation(conversation, 700_000 + conversation, $"Importer {conversation}", null, messages));
        }

        const int total = ImportConversations * MessagesPerConversation;
        using var admin = cluster.Silos[0].CreateClient();
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", GatewayTestOptions.AcmeAdmin);
        var clock = Stopwatch.StartNew();
        (await admin.PostAsJsonAsync("/v1/connections/cw1/import", new { since })).EnsureSuccessStatusCode();
        long stored = 0;
        var lastChange = clock.Elapsed;
        while (stored < total && clock.Elapsed - lastChange < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(100);
            var now = await cluster.Database.ScalarAsync<long>("SELECT count(*) FROM customer_interactions WHERE source = 'chatwoot:cw1'");
            if (now != stored)
            {
                (stored, lastChange) = (now, clock.Elapsed);
            }
        }

        var elapsed = clock.Elapsed;
        var run = await admin.GetFromJsonAsync<System.Text.Json.Nodes.JsonObject>("/v1/connections/cw1/import");
        var rate = stored / elapsed.TotalSeconds;
        Console.WriteLine($"history imported      {rate,10:N0} messages per s ({stored:N0} of {total:N0} in their customers' histories in {elapsed.TotalSeconds:N1} s; " +
                          $"{run!["requests"]} requests, status {run["status"]})");
        return (rate, (int)stored, total - (int)stored);
    }
}
