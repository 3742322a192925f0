using System.Net;
using System.Text.Json;
using CustomerGrains.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace CustomerGrains.Runtime.Tests;

public sealed class PersistenceTests
{
    private static TestClusterOptions Options()
    {
        var options = new TestClusterOptions();
        options.GrainAssemblies.Add(typeof(CounterGrain).Assembly);
        return options;
    }

    [Fact]
    public async Task Two_activations_writing_concurrently_never_lose_an_update()
    {
        // Two clusters on one database and service id: each activates the same grains, as a split brain would.
        await using var database = await TestDatabase.CreateAsync();
        var optionsA = Options();
        optionsA.Configuration["Cluster:ClusterId"] = "a";
        var optionsB = Options();
        optionsB.Configuration["Cluster:ClusterId"] = "b";
        await using var a = await TestCluster.StartAsync(1, optionsA, database);
        await using var b = await TestCluster.StartAsync(1, optionsB, database);

        var acknowledged = new System.Collections.Concurrent.ConcurrentBag<(string Grain, int Operation)>();
        var conflicts = 0;
        var factories = new[] { a.Silos[0].GrainFactory, b.Silos[0].GrainFactory };
        await Parallel.ForEachAsync(Enumerable.Range(0, 1200), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (operation, _) =>
        {
            var key = $"shared{operation % 4}";
            try
            {
                await factories[operation % 2].GetGrain<ICounterGrain>(key).AddAsync(operation);
                acknowledged.Add((key, operation));
            }
            catch (InconsistentStateException)
            {
                Interlocked.Increment(ref conflicts); // conflicted twice: reported, not applied
            }
        });

        for (var i = 0; i < 4; i++)
        {
            var (version, operations) = await ReadCounterAsync(database, $"shared{i}");
            Assert.Equal(operations.Count, operations.Distinct().Count());
            Assert.Equal(version, operations.Count); // every write added exactly one operation: none overwritten
            Assert.Subset(operations.ToHashSet(), acknowledged.Where(x => x.Grain == $"shared{i}").Select(x => x.Operation).ToHashSet());
        }

        Assert.True(acknowledged.Count > 600, $"only {acknowledged.Count} of 1200 calls succeeded ({conflicts} conflicted twice)");
    }

    [Fact]
    public async Task Idle_activations_are_collected_with_state_persisted_and_come_back_with_it()
    {
        var time = new ManualTimeProvider();
        var options = Options();
        options.ConfigureSilo = builder => builder.Services.AddSingleton<TimeProvider>(time);
        await using var cluster = await TestCluster.StartAsync(1, options);
        var grain = cluster.Silos[0].GrainFactory.GetGrain<IDeferredCounterGrain>("idle");
        await grain.IncrementAsync();
        await grain.IncrementAsync();
        await grain.IncrementAsync();
        var before = await grain.GetAsync();
        Assert.Null(await cluster.Database.ScalarAsync<string>("SELECT payload::text FROM grain_state WHERE grain_key = 'idle'"));

        time.Advance(TimeSpan.FromMinutes(14));
        await Task.Delay(300);
        Assert.Null(await cluster.Database.ScalarAsync<string>("SELECT payload::text FROM grain_state WHERE grain_key = 'idle'"));

        time.Advance(TimeSpan.FromMinutes(2));
        Assert.True(await Eventually.TrueAsync(
            async () => await cluster.Database.ScalarAsync<string>("SELECT payload::text FROM grain_state WHERE grain_key = 'idle'") is not null,
            TimeSpan.FromSeconds(10)), "the idle activation was not collected and persisted");

        var after = await grain.GetAsync();
        Assert.Equal(3, after.Count);
        Assert.NotEqual(before.Activation, after.Activation);
    }

    [Fact]
    public async Task State_survives_the_whole_cluster_restarting()
    {
        await using var database = await TestDatabase.CreateAsync();
        await using (var first = await TestCluster.StartAsync(1, Options(), database))
        {
            await first.Silos[0].GrainFactory.GetGrain<ICounterGrain>("durable").AddAsync(7);
            await first.StopSiloAsync(first.Silos[0]);
        }

        await using var second = await TestCluster.StartAsync(1, Options(), database);
        Assert.Equal([7], await second.Silos[0].GrainFactory.GetGrain<ICounterGrain>("durable").GetOperationsAsync());
    }

    [Fact]
    public async Task Losing_postgres_fails_calls_clearly_and_they_recover_when_it_returns()
    {
        await using var database = await TestDatabase.CreateAsync();
        var direct = new NpgsqlConnectionStringBuilder(database.ConnectionString);
        await using var proxy = new TcpProxy(new IPEndPoint(IPAddress.Loopback, direct.Port));
        var options = Options();
        options.Configuration["Database:ConnectionString"] =
            new NpgsqlConnectionStringBuilder(database.ConnectionString) { Port = proxy.Port, Timeout = 2 }.ConnectionString;
        options.Configuration["Grains:CallTimeout"] = "00:00:10";
        await using var cluster = await TestCluster.StartAsync(1, options, database);
        var grains = cluster.Silos[0].GrainFactory;
        await grains.GetGrain<ICounterGrain>("steady").AddAsync(1);

        proxy.Cut();
        var failure = await Assert.ThrowsAsync<StorageUnavailableException>(() => grains.GetGrain<ICounterGrain>("steady").AddAsync(2));
        Assert.Contains("PostgreSQL is unreachable", failure.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<StorageUnavailableException>(() => grains.GetGrain<ICounterGrain>("newcomer").AddAsync(3));

        proxy.Restore();
        Assert.True(await Eventually.TrueAsync(async () =>
        {
            try
            {
                await grains.GetGrain<ICounterGrain>("newcomer").AddAsync(4);
                return true;
            }
            catch (StorageUnavailableException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(200)), "calls did not recover after PostgreSQL returned");

        Assert.Equal([4], await grains.GetGrain<ICounterGrain>("newcomer").GetOperationsAsync());
        Assert.Equal(2, await grains.GetGrain<ICounterGrain>("steady").AddAsync(5));
    }

    private static async Task<(long Version, List<int> Operations)> ReadCounterAsync(TestDatabase database, string key)
    {
        var payload = await database.ScalarAsync<string>("SELECT payload::text FROM grain_state WHERE grain_type = 'counter' AND grain_key = $1", key);
        var version = await database.ScalarAsync<long>("SELECT version FROM grain_state WHERE grain_type = 'counter' AND grain_key = $1", key);
        var state = JsonSerializer.Deserialize<CounterState>(payload!, new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
        return (version, state.Operations);
    }
}
