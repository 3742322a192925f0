using System.Net;
using CustomerGrains.Runtime;
using CustomerGrains.Runtime.Membership;
using CustomerGrains.Testing;

namespace CustomerGrains.Benchmarks;

public interface IBenchGrain : IGrainWithStringKey
{
    Task<int> AddAsync(int amount);
}

/// <summary>An in-memory counter: the call path is what is measured, not storage.</summary>
public sealed class BenchGrain : Grain, IBenchGrain
{
    private int _total;

    public Task<int> AddAsync(int amount) => Task.FromResult(_total += amount);
}

/// <summary>
/// Grain calls per second within one silo and across silos at 64 concurrent callers, against the requests per
/// second of a bare HTTP/2 echo on the same cluster listener (the transport's own ceiling).
/// </summary>
public static class RuntimeBenchmark
{
    // 64 concurrent callers as the issue asks; CUSTOMERGRAINS_BENCH_CALLERS overrides it to study latency (1) or scaling.
    private static readonly int Callers = int.TryParse(Environment.GetEnvironmentVariable("CUSTOMERGRAINS_BENCH_CALLERS"), out var callers) ? callers : 64;
    private const int Grains = 1024;
    private static readonly TimeSpan Warmup = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Measure = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Round = TimeSpan.FromSeconds(2);
    private const int Rounds = 4;

    public static async Task<BenchmarkResult> RunAsync()
    {
        var options = new TestClusterOptions();
        options.GrainAssemblies.Add(typeof(BenchGrain).Assembly);
        await using var cluster = await TestCluster.StartAsync(2, options);
        var (caller, owner) = (cluster.Silos[0], cluster.Silos[1]);

        var view = caller.Membership.View;
        var local = KeysOwnedBy(view, caller.SiloId);
        var remote = KeysOwnedBy(view, owner.SiloId);

        var localGrains = local.Select(k => caller.GrainFactory.GetGrain<IBenchGrain>(k)).ToArray();
        var localRate = await RateAsync("local grain calls", i => localGrains[i % localGrains.Length].AddAsync(1));

        var remoteGrains = remote.Select(k => caller.GrainFactory.GetGrain<IBenchGrain>(k)).ToArray();
        // The echo carries what a grain call carries: the same JSON envelope, content type and cluster key.
        using var http = new HttpClient(new SocketsHttpHandler { EnableMultipleHttp2Connections = true, UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(2), KeepAlivePingDelay = TimeSpan.FromSeconds(5), KeepAlivePingTimeout = TimeSpan.FromSeconds(5) });
        var echo = new Uri(owner.Endpoints.ClusterUrl, "/_cluster/echo");
        var envelope = System.Text.Encoding.UTF8.GetBytes(
            "{\"type\":\"bench\",\"key\":\"" + remote[0] + "\",\"method\":\"IBenchGrain.AddAsync/1\",\"view\":" + view.Version + ",\"args\":[1]}");
        var json = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        Func<int, Task> remoteCall = i => remoteGrains[i % remoteGrains.Length].AddAsync(1);
        Func<int, Task> echoCall = async _ =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, echo)
            {
                Version = HttpVersion.Version20,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
                Content = new ReadOnlyMemoryContent(envelope),
            };
            request.Content.Headers.ContentType = json;
            request.Headers.TryAddWithoutValidation("x-cluster-key", TestCluster.ClusterKey);
            using var response = await http.SendAsync(request);
            response.EnsureSuccessStatusCode();
            await response.Content.ReadAsByteArrayAsync();
        };

        // Warm both paths (tiered JIT, connections) before measuring either, then alternate short rounds so that
        // neither gets the warmer machine or the quieter minute.
        await RateAsync("warm-up remote", remoteCall, measure: Warmup);
        await RateAsync("warm-up echo", echoCall, measure: Warmup);
        double remoteCalls = 0, echoCalls = 0;
        for (var round = 0; round < Rounds; round++)
        {
            remoteCalls += await RateAsync($"remote grain calls #{round + 1}", remoteCall, measure: Round);
            echoCalls += await RateAsync($"raw HTTP/2 echo #{round + 1}", echoCall, measure: Round);
        }

        var remoteRate = remoteCalls / Rounds;
        var rawRate = echoCalls / Rounds;
        Console.WriteLine($"remote grain calls {remoteRate,12:N0} per s (mean of {Rounds} rounds)");
        Console.WriteLine($"raw HTTP/2 echo    {rawRate,12:N0} per s (mean of {Rounds} rounds)");

        return new BenchmarkResult("runtime")
            .Add("local_calls_per_s", localRate)
            .Add("remote_calls_per_s", remoteRate)
            .Add("raw_http_per_s", rawRate)
            .Add("remote_vs_raw", remoteRate / rawRate)
            .Add("callers", Callers);
    }

    private static string[] KeysOwnedBy(ClusterView view, string siloId) =>
        Enumerable.Range(0, Grains * 4).Select(i => $"bench{i}")
            .Where(k => view.GetOwner(new GrainId("bench", k))?.SiloId == siloId)
            .Take(Grains)
            .ToArray();

    private static Task<double> RateAsync(string name, Func<int, Task> operation, TimeSpan? measure = null) =>
        Throughput.MeasureAsync(name, Callers, operation, measure is null ? Warmup : TimeSpan.FromMilliseconds(200), measure ?? Measure);
}
