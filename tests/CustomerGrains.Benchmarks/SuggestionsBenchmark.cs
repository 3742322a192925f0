using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using CustomerGrains.Grains;
using CustomerGrains.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CustomerGrains.Benchmarks;

/// <summary>
/// 1,000 customers with history, a 500-entry knowledge base, 32 concurrent agents asking for suggestions over HTTP
/// with the tiny model: latency percentiles and suggestions per second, against the study's 2-second bound; and the
/// same for one agent alone (the latency when nothing queues). The tiny model carries a script (it costs what the
/// random model costs per token, and writes an English reply citing its first source, repeated up to the 96-token
/// limit as the random model's replies run), so its drafts are text an agent would be shown, not noise the
/// suggestions drop.
/// </summary>
public static class SuggestionsBenchmark
{
    private const int Customers = 1000;
    private const int Entries = 500;
    private const int Agents = 32;
    private static readonly TimeSpan Warmup = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(10);

    private static readonly string[] Messages =
    [
        "Where is my order?", "How do I return an item?", "When will I get my refund?", "Где моя посылка?",
        "Как вернуть товар?", "Can I change my delivery address?", "Why was my payment declined?", "Сколько стоит доставка?",
    ];

    public static async Task<BenchmarkResult> RunAsync()
    {
        await using var hubSpot = await FakeHubSpot.StartAsync();
        var options = GatewayTestOptions.Create(hubSpot.BaseUrl);
        var model = ScratchFolder.Create("cg-bench-scripted-");
        ModelMaker.TinyDecoder.WriteScripted(model, ModelMaker.DecoderSize.Tiny, "Your order has been shipped [S1]. Thank you for contacting support!\n", (path, text) =>
        {
            using var tokenizer = Inference.Tokenization.TextTokenizer.Load(path);
            return tokenizer.Encode(text);
        }, loop: true);
        options.Configuration["Inference:Models:default:Path"] = model;
        var configure = options.ConfigureSilo!;
        options.ConfigureSilo = builder =>
        {
            configure(builder);
            builder.Services.AddInference(builder.Configuration);
        };
        await using var cluster = await TestCluster.StartAsync(1, options);
        var grains = cluster.Silos[0].GrainFactory;

        // A 500-entry knowledge base: the support fixture, rephrased.
        var fixture = JsonSerializer.Deserialize<List<KbEntryInput>>(File.ReadAllText(Fixtures.Path("kb", "support-kb.json")), new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
        var entries = Enumerable.Range(0, Entries).Select(i => fixture[i % fixture.Count] with { Question = $"{fixture[i % fixture.Count].Question} ({i / fixture.Count})" }).ToList();
        await grains.GetGrain<IKnowledgeBaseGrain>("acme").ImportAsync(entries, "bench");

        // 1,000 customers with a few turns of history each.
        await Parallel.ForEachAsync(Enumerable.Range(0, Customers), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (c, _) =>
        {
            var id = await grains.GetGrain<ICustomerDirectoryGrain>("acme").ResolveOrCreateAsync([new ExternalIdentity("standard", $"bench-{c}")]);
            var customer = grains.GetGrain<ICustomerGrain>(CustomerKey.Of("acme", id));
            for (var t = 0; t < 4; t++)
            {
                var facts = new CustomerFacts($"Customer {c}", Language: c % 3 == 0 ? "ru" : "en");
                await customer.AppendAsync(new AppendRequest(
                    new Interaction("bench", $"{c}-{t}", "chat", t % 2 == 0 ? InteractionDirection.Inbound : InteractionDirection.Outbound, Messages[(c + t) % Messages.Length], DateTimeOffset.UtcNow.AddMinutes(t - 10)),
                    facts, [new ExternalIdentity("standard", $"bench-{c}")]));
            }
        });

        using var http = cluster.Silos[0].CreateClient();
        http.DefaultRequestHeaders.Authorization = new("Bearer", GatewayTestOptions.AcmeAgent);
        var alone = await MeasureAsync(http, 1);
        var loaded = await MeasureAsync(http, Agents);
        return new BenchmarkResult("suggestions")
            .Add("p99_first_ms", loaded.P99First)
            .Add("p50_ms", loaded.P50)
            .Add("p95_ms", loaded.P95)
            .Add("p99_ms", loaded.P99)
            .Add("per_s", loaded.SuggestionsPerSecond)
            .Add("vs_2s_target", loaded.P99 / 2000)
            .Add("degraded_share", loaded.DegradedShare)
            .Add("p50_ms_1_agent", alone.P50)
            .Add("p99_ms_1_agent", alone.P99);
    }

    private sealed record Measurement(double P50, double P95, double P99, double SuggestionsPerSecond, double DegradedShare, double P99First);

    /// <summary>Agents asking back to back for 3 suggestions for random customers, over HTTP as server-sent events, for
    /// the window: the time to the first event (the retrieved answers) and to the final record.</summary>
    private static async Task<Measurement> MeasureAsync(HttpClient http, int agents)
    {
        var json = new JsonSerializerOptions(JsonSerializerDefaults.Web) { Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };
        var latencies = new ConcurrentBag<double>();
        var firsts = new ConcurrentBag<double>();
        long degraded = 0, suggestions = 0;
        var measuring = false;
        using var stop = new CancellationTokenSource();
        var tasks = Enumerable.Range(0, agents).Select(agent => Task.Run(async () =>
        {
            var random = new Random(agent);
            while (!stop.IsCancellationRequested)
            {
                var customer = random.Next(Customers);
                var watch = Stopwatch.StartNew();
                using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/customers/standard:bench-{customer}/suggestions") { Content = JsonContent.Create(new { count = 3 }) };
                request.Headers.Accept.ParseAdd("text/event-stream");
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                if (!response.IsSuccessStatusCode)
                {
                    throw new InvalidOperationException($"Suggestions answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                }

                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
                double? first = null;
                string? last = null;
                while (await reader.ReadLineAsync() is { } line)
                {
                    if (line.StartsWith("data: ", StringComparison.Ordinal))
                    {
                        first ??= watch.Elapsed.TotalMilliseconds;
                        last = line[6..];
                    }
                }

                watch.Stop();
                var result = JsonSerializer.Deserialize<SuggestionEvent>(last!, json)!.Result!;
                if (Volatile.Read(ref measuring))
                {
                    latencies.Add(watch.Elapsed.TotalMilliseconds);
                    firsts.Add(first!.Value);
                    Interlocked.Add(ref suggestions, result.Suggestions.Count);
                    // Degraded by the model's pace (or failure), not by its English drafts being withheld from the
                    // third of customers who write Russian.
                    if (result.Degraded && !result.Reason!.Contains("not usable text", StringComparison.Ordinal))
                    {
                        Interlocked.Increment(ref degraded);
                    }
                }
            }
        })).ToArray();

        await Task.Delay(Warmup);
        Volatile.Write(ref measuring, true);
        var window = Stopwatch.StartNew();
        await Task.Delay(Window);
        Volatile.Write(ref measuring, false);
        window.Stop();
        await stop.CancelAsync();
        await Task.WhenAll(tasks);

        var sorted = latencies.Order().ToArray();
        double Percentile(double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p / 100 * sorted.Length) - 1)];
        var firstSorted = firsts.Order().ToArray();
        var measurement = new Measurement(Percentile(50), Percentile(95), Percentile(99), suggestions / window.Elapsed.TotalSeconds, (double)degraded / sorted.Length,
            firstSorted[Math.Min(firstSorted.Length - 1, (int)Math.Ceiling(0.99 * firstSorted.Length) - 1)]);
        Console.WriteLine($"{agents,2} agent(s): {sorted.Length:N0} requests in {window.Elapsed.TotalSeconds:0.0} s: p50 {measurement.P50:0} ms, p95 {measurement.P95:0} ms, " +
                          $"p99 {measurement.P99:0} ms (first event: p99 {measurement.P99First:0} ms); {measurement.SuggestionsPerSecond:N1} suggestions per s, {100 * measurement.DegradedShare:0.0}% degraded");
        return measurement;
    }
}
