using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace CustomerGrains.Testing;

/// <summary>How long each phase of the drill lasts, and the load: signed webhooks and agent reads per second.</summary>
public sealed record DrillOptions(TimeSpan Phase, int WebhooksPerSecond = 40, int ReadsPerSecond = 20, int Customers = 200);

/// <summary>What the drill saw. Activations: customer grains per silo (by its Orleans port), from Orleans' own statistics.</summary>
public sealed record DrillResult(
    int Sent, int Failures, int Acknowledged, int Missing, int Duplicates,
    IReadOnlyDictionary<int, int> ActivationsBefore, IReadOnlyDictionary<int, int> ActivationsAfter, int DrainedPort, int DrainExitCode);

/// <summary>
/// The scaling drill an operator runs on one machine (<c>./bench.sh drill</c>; ClusterTests run a short one): one silo
/// process under steady load (signed webhooks and agent reads, sent round-robin to the silos in rotation, as a load
/// balancer would), two more started and added to the rotation, then the first taken out of rotation and drained
/// with SIGTERM while the load goes on. Every acknowledged webhook must reach its customer exactly once, and no request
/// may fail.
/// </summary>
public static class ScalingDrill
{
    public static async Task<DrillResult> RunAsync(DrillOptions options, TextWriter log)
    {
        var tenants = GatewayTestOptions.Create("http://127.0.0.1:9").Configuration;
        await using var database = await TestDatabase.CreateAsync();
        var silos = new List<SiloProcess>();
        try
        {
            silos.Add(await SiloProcess.StartAsync(database, tenants));
            var rotation = new List<SiloProcess>(silos);
            var rotationLock = new Lock();
            SiloProcess Next(int n)
            {
                lock (rotationLock)
                {
                    return rotation[n % rotation.Count];
                }
            }

            var (sent, failures) = (0, 0);
            var acknowledged = new ConcurrentBag<string>();
            var problems = new ConcurrentQueue<string>();
            using var stop = new CancellationTokenSource();
            var clients = new ConcurrentDictionary<SiloProcess, (HttpClient Webhooks, HttpClient Agent)>();
            (HttpClient Webhooks, HttpClient Agent) ClientsOf(SiloProcess silo) => clients.GetOrAdd(silo, s =>
            {
                var agent = s.CreateClient();
                agent.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", GatewayTestOptions.AcmeAgent);
                return (s.CreateClient(), agent);
            });

            async Task SendAsync(int n, bool webhook)
            {
                Interlocked.Increment(ref sent);
                var silo = Next(n);
                try
                {
                    HttpResponseMessage response;
                    if (webhook)
                    {
                        var eventId = $"drill-{n}";
                        var body = Payloads.Standard($"drill-{n % options.Customers}", eventId, $"message {n}");
                        using var request = new HttpRequestMessage(HttpMethod.Post, "/webhooks/standard/crm1") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
                        foreach (var (name, value) in Signing.Standard(body, $"wh-{eventId}", DateTimeOffset.UtcNow))
                        {
                            request.Headers.TryAddWithoutValidation(name, value);
                        }

                        response = await ClientsOf(silo).Webhooks.SendAsync(request);
                        if (response.IsSuccessStatusCode)
                        {
                            acknowledged.Add(eventId);
                        }
                    }
                    else
                    {
                        // An agent reads a customer the webhooks created (a 404 before the first one arrives is an answer).
                        response = await ClientsOf(silo).Agent.GetAsync($"/v1/customers/standard:drill-{n % options.Customers}/context");
                    }

                    if (!response.IsSuccessStatusCode && response.StatusCode != HttpStatusCode.NotFound)
                    {
                        Interlocked.Increment(ref failures);
                        problems.Enqueue($"{(int)response.StatusCode} from {silo.PublicUrl}: {await response.Content.ReadAsStringAsync()}");
                    }

                    response.Dispose();
                }
                catch (HttpRequestException ex)
                {
                    Interlocked.Increment(ref failures);
                    problems.Enqueue($"{silo.PublicUrl}: {ex.Message}");
                }
            }

            // Open-loop load: requests go out on schedule, whatever the answers take.
            var inFlight = new ConcurrentDictionary<Task, byte>();
            async Task LoadAsync(int perSecond, bool webhooks)
            {
                var clock = Stopwatch.StartNew();
                for (var n = 0; !stop.IsCancellationRequested; n++)
                {
                    var due = TimeSpan.FromSeconds((double)n / perSecond) - clock.Elapsed;
                    if (due > TimeSpan.Zero)
                    {
                        await Task.Delay(due);
                    }

                    var task = SendAsync(webhooks ? n : n + 1_000_000, webhooks);
                    inFlight[task] = 0;
                    _ = task.ContinueWith(t => inFlight.TryRemove(t, out _), TaskScheduler.Default);
                }
            }

            var load = Task.WhenAll(LoadAsync(options.WebhooksPerSecond, true), LoadAsync(options.ReadsPerSecond, false));
            log.WriteLine($"one silo ({silos[0].PublicUrl}) under load: {options.WebhooksPerSecond} webhooks/s, {options.ReadsPerSecond} reads/s");
            await Task.Delay(options.Phase);

            var before = await silos[0].ActivationsAsync("CustomerGrain");
            log.WriteLine($"customer activations before scaling out: {Describe(before)}");
            foreach (var _ in Enumerable.Range(0, 2))
            {
                var added = await SiloProcess.StartAsync(database, tenants);
                silos.Add(added);
                lock (rotationLock)
                {
                    rotation.Add(added);
                }

                log.WriteLine($"added {added.PublicUrl} to the rotation");
            }

            await Task.Delay(options.Phase);

            // Drain the first: out of rotation, its in-flight requests answered, then SIGTERM.
            var first = silos[0];
            lock (rotationLock)
            {
                rotation.Remove(first);
            }

            log.WriteLine($"took {first.PublicUrl} out of rotation; SIGTERM");
            await Task.Delay(TimeSpan.FromSeconds(1));
            var exitCode = await first.TerminateAsync(TimeSpan.FromSeconds(30));
            log.WriteLine($"{first.PublicUrl} exited with {exitCode}");
            await Task.Delay(options.Phase);

            await stop.CancelAsync();
            await load;
            await Task.WhenAll(inFlight.Keys);

            // The dashboard's statistics lag by a moment (and restart if its own grain lived on the drained silo).
            IReadOnlyDictionary<int, int> after = new Dictionary<int, int>();
            await Eventually.TrueAsync(async () => (after = await silos[1].ActivationsAsync("CustomerGrain")).Values.Sum() > 0, TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(500));
            var expected = acknowledged.ToArray();
            await Eventually.TrueAsync(
                async () => await database.ScalarAsync<long>("SELECT count(DISTINCT event_id) FROM customer_interactions WHERE event_id = ANY($1)", new object[] { expected }) == expected.Length,
                TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(250));
            var stored = await database.ScalarAsync<long>("SELECT count(DISTINCT event_id) FROM customer_interactions WHERE event_id = ANY($1)", new object[] { expected });
            var rows = await database.ScalarAsync<long>("SELECT count(*) FROM customer_interactions WHERE event_id = ANY($1)", new object[] { expected });
            foreach (var problem in problems.Take(5))
            {
                log.WriteLine($"failure: {problem}");
            }

            if (!problems.IsEmpty)
            {
                foreach (var line in silos.SelectMany(s => s.Output.Split('\n')).Where(l => l.Contains("Exception", StringComparison.Ordinal)).Take(10))
                {
                    log.WriteLine($"  silo: {line}");
                }
            }

            var result = new DrillResult(sent, failures, expected.Length, expected.Length - (int)stored, (int)(rows - stored), before, after, first.OrleansPort, exitCode);
            log.WriteLine($"requests sent {result.Sent}, failed {result.Failures}; webhooks acknowledged {result.Acknowledged}, missing {result.Missing}, duplicated {result.Duplicates}");
            log.WriteLine($"customer activations after draining {first.OrleansPort}: {Describe(after)}");
            return result;
        }
        finally
        {
            foreach (var silo in silos)
            {
                await silo.DisposeAsync();
            }
        }
    }

    private static string Describe(IReadOnlyDictionary<int, int> activations) =>
        string.Join(", ", activations.OrderBy(a => a.Key).Select(a => $"silo :{a.Key} {a.Value}"));
}
