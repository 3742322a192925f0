using System.Net;
using CustomerGrains.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans;
using Orleans.Placement;
using Orleans.Runtime;
using Orleans.Storage;

namespace CustomerGrains.Benchmarks;

[Alias("bench.IBenchGrain")]
public interface IBenchGrain : IGrainWithStringKey
{
    [Alias("AddAsync")]
    Task<int> AddAsync(int amount);
}

/// <summary>An in-memory counter, activated where it is first called: the call path is what is measured.</summary>
[PreferLocalPlacement]
public sealed class BenchGrain : Grain, IBenchGrain
{
    private int _total;

    public Task<int> AddAsync(int amount) => Task.FromResult(_total += amount);
}

[Alias("bench.IPersistedBenchGrain")]
public interface IPersistedBenchGrain : IGrainWithStringKey
{
    [Alias("AddAsync")]
    Task<int> AddAsync(int amount);
}

[GenerateSerializer, Alias("bench.Counter")]
public sealed class Counter
{
    [Id(0)]
    public int Total { get; set; }
}

/// <summary>A counter whose every call writes its state through Orleans' ADO.NET grain storage on PostgreSQL, activated
/// where it is called: what is measured is the storage, not a hop between silos.</summary>
[PreferLocalPlacement]
public sealed class PersistedBenchGrain([PersistentState("bench", Grains.GrainStorage.Name)] IPersistentState<Counter> state) : Grain, IPersistedBenchGrain
{
    public async Task<int> AddAsync(int amount)
    {
        state.State.Total += amount;
        await state.WriteStateAsync();
        return state.State.Total;
    }
}

/// <summary>
/// Orleans on this machine: grain calls per second within one silo and between two, against a plain ASP.NET Core
/// HTTP/2 echo under the same concurrency; and persisted grain writes per second through the ADO.NET storage, against
/// raw single-row versioned UPDATEs on PostgreSQL under the same concurrency.
/// </summary>
public static class RuntimeBenchmark
{
    // 64 concurrent callers; CUSTOMERGRAINS_BENCH_CALLERS overrides it to study latency (1) or scaling.
    private static readonly int Callers = int.TryParse(Environment.GetEnvironmentVariable("CUSTOMERGRAINS_BENCH_CALLERS"), out var callers) ? callers : 64;
    private const int Grains = 1024;
    private static readonly TimeSpan Warmup = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Measure = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Round = TimeSpan.FromSeconds(2);
    private const int Rounds = 4;

    public static async Task<BenchmarkResult> RunAsync()
    {
        await using var cluster = await TestCluster.StartAsync(2, new TestClusterOptions());
        var (caller, owner) = (cluster.Silos[0], cluster.Silos[1]);

        // Local: activated by the caller's silo (prefer-local placement), called from it.
        var local = Enumerable.Range(0, Grains).Select(i => caller.GrainFactory.GetGrain<IBenchGrain>($"local-{i}")).ToArray();
        var localRate = await RateAsync("local grain calls", i => local[i % local.Length].AddAsync(1));

        // Remote: activated on the other silo first, then called from the caller's.
        var keys = Enumerable.Range(0, Grains).Select(i => $"remote-{i}").ToArray();
        await Task.WhenAll(keys.Select(k => owner.GrainFactory.GetGrain<IBenchGrain>(k).AddAsync(0)));
        var remote = keys.Select(k => caller.GrainFactory.GetGrain<IBenchGrain>(k)).ToArray();
        Func<int, Task> remoteCall = i => remote[i % remote.Length].AddAsync(1);

        await using var echo = await EchoServer.StartAsync();
        using var http = new HttpClient(new SocketsHttpHandler { EnableMultipleHttp2Connections = true, UseProxy = false });
        var payload = new byte[64]; // about what a grain call with an int carries
        Func<int, Task> echoCall = async _ =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, echo.Url)
            {
                Version = HttpVersion.Version20,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
                Content = new ReadOnlyMemoryContent(payload),
            };
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

        var (remoteRate, rawRate) = (remoteCalls / Rounds, echoCalls / Rounds);
        Console.WriteLine($"remote grain calls {remoteRate,12:N0} per s (mean of {Rounds} rounds)");
        Console.WriteLine($"raw HTTP/2 echo    {rawRate,12:N0} per s (mean of {Rounds} rounds)");

        // Persisted: one state write per call, against the same number of raw versioned UPDATEs of one row each.
        var persisted = Enumerable.Range(0, Grains).Select(i => caller.GrainFactory.GetGrain<IPersistedBenchGrain>($"persisted-{i}")).ToArray();
        var writeRate = await RateAsync("persisted grain writes", i => persisted[i % persisted.Length].AddAsync(1));
        var updateRate = await RawUpdatesAsync(cluster.Database.ConnectionString);
        // Where a persisted write's time goes: Orleans' storage provider alone (no grain call), and the same SQL function
        // the provider runs, called through Npgsql directly.
        var storage = caller.Services.GetRequiredKeyedService<IGrainStorage>(CustomerGrains.Grains.GrainStorage.Name);
        var storageRate = await StorageWritesAsync(storage);
        var sqlRate = await SqlWritesAsync(cluster.Database.ConnectionString);

        return new BenchmarkResult("runtime")
            .Add("local_calls_per_s", localRate)
            .Add("remote_calls_per_s", remoteRate)
            .Add("raw_http_per_s", rawRate)
            .Add("remote_vs_raw", remoteRate / rawRate)
            .Add("persisted_writes_per_s", writeRate)
            .Add("pg_update_per_s", updateRate)
            .Add("persisted_vs_pg", writeRate / updateRate)
            .Add("storage_writes_per_s", storageRate)
            .Add("sql_writes_per_s", sqlRate)
            .Add("callers", Callers);
    }

    /// <summary>Single-row versioned UPDATEs (compare-and-swap, as grain storage writes), each caller on rows of its own.</summary>
    private static async Task<double> RawUpdatesAsync(string connectionString)
    {
        await using var database = NpgsqlDataSource.Create(connectionString);
        await using (var setup = database.CreateCommand(
            $"CREATE TABLE bench_rows (id int PRIMARY KEY, version int NOT NULL, payload bytea); INSERT INTO bench_rows SELECT i, 0, NULL FROM generate_series(0, {Grains - 1}) AS i"))
        {
            await setup.ExecuteNonQueryAsync();
        }

        var versions = new int[Grains];
        var payload = new byte[96];
        return await RateAsync("raw versioned UPDATEs", async i =>
        {
            // Row i % Grains belongs to one caller at a time: callers take sequence numbers, rows follow them.
            var row = i % Grains;
            await using var command = database.CreateCommand("UPDATE bench_rows SET payload = $3, version = version + 1 WHERE id = $1 AND version = $2");
            command.Parameters.AddWithValue(row);
            command.Parameters.AddWithValue(Volatile.Read(ref versions[row]));
            command.Parameters.AddWithValue(payload);
            if (await command.ExecuteNonQueryAsync() == 1)
            {
                Interlocked.Increment(ref versions[row]);
            }
        });
    }

    /// <summary>Writes through the grain storage provider itself, as a grain's WriteStateAsync does, without the call.</summary>
    private static Task<double> StorageWritesAsync(IGrainStorage storage)
    {
        var states = Enumerable.Range(0, Grains).Select(i => (Id: GrainId.Create("direct", $"direct-{i}"), State: new GrainState<Counter>(new Counter()))).ToArray();
        return RateAsync("storage provider writes", async i =>
        {
            var (id, state) = states[i % Grains];
            state.State!.Total++;
            await storage.WriteStateAsync("direct", id, state);
        });
    }

    /// <summary>The provider's SQL (Silo/Sql: orleans_write_storage) through Npgsql alone: the database's share.</summary>
    private static async Task<double> SqlWritesAsync(string connectionString)
    {
        await using var database = NpgsqlDataSource.Create(connectionString + ";Max Auto Prepare=64;Auto Prepare Min Usages=2");
        var versions = new int?[Grains];
        var payload = new byte[96];
        return await RateAsync("the same SQL via Npgsql", async i =>
        {
            var row = i % Grains;
            await using var command = database.CreateCommand("SELECT orleans_write_storage($1, 0, 0, 7, 'sql', $2, 'test', $3, $4)");
            command.Parameters.AddWithValue(row);
            command.Parameters.AddWithValue($"sql-{row}");
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)versions[row] ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Integer });
            command.Parameters.AddWithValue(payload);
            if (await command.ExecuteScalarAsync() is int version)
            {
                versions[row] = version;
            }
        });
    }

    private static Task<double> RateAsync(string name, Func<int, Task> operation, TimeSpan? measure = null) =>
        Throughput.MeasureAsync(name, Callers, operation, measure is null ? Warmup : TimeSpan.FromMilliseconds(200), measure ?? Measure);

    /// <summary>A plain ASP.NET Core HTTP/2 (cleartext) echo on a loopback port.</summary>
    private sealed class EchoServer(WebApplication app) : IAsyncDisposable
    {
        public Uri Url { get; } = new(new Uri(app.Urls.First()), "/echo");

        public static async Task<EchoServer> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
            var app = builder.Build();
            app.MapPost("/echo", async (HttpContext http) =>
            {
                var buffer = new byte[64];
                var read = await http.Request.Body.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false);
                await http.Response.Body.WriteAsync(buffer.AsMemory(0, read));
            });
            await app.StartAsync();
            return new EchoServer(app);
        }

        public ValueTask DisposeAsync() => app.DisposeAsync();
    }
}
