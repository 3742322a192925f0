using System.Collections.Concurrent;
using CustomerGrains.Testing;

namespace CustomerGrains.Runtime.Tests;

public sealed class ClusterTests
{
    private const int GrainCount = 2000;

    private static TestClusterOptions Options(string callTimeout = "00:00:10")
    {
        var options = new TestClusterOptions();
        options.GrainAssemblies.Add(typeof(CounterGrain).Assembly);

        // Death timeout 2 s (the test default); a call may take that plus a few seconds while its owner is replaced.
        options.Configuration["Grains:CallTimeout"] = callTimeout;
        return options;
    }

    [Fact]
    public async Task A_killed_silo_loses_no_acknowledged_increment_and_its_grains_move_to_the_survivors()
    {
        await using var cluster = await TestCluster.StartAsync(3, Options());
        var survivors = cluster.Silos.Take(2).ToArray();
        var victim = cluster.Silos[2];
        var victimGrains = Enumerable.Range(0, GrainCount)
            .Where(i => survivors[0].Membership.View.GetOwner(new GrainId("counter", $"g{i}"))!.SiloId == victim.SiloId)
            .ToList();
        Assert.NotEmpty(victimGrains);

        var operations = new ConcurrentQueue<(int Grain, int Operation)>(
            Enumerable.Range(0, GrainCount * 6).Select(op => (Grain: op % GrainCount, Operation: op)).OrderBy(_ => Random.Shared.Next()));
        var total = operations.Count;
        var acknowledged = new ConcurrentBag<(int Grain, int Operation)>();
        var failures = new ConcurrentBag<Exception>();
        var done = 0;
        var killed = new TaskCompletionSource();

        var callers = Enumerable.Range(0, 64).Select(caller => Task.Run(async () =>
        {
            var grains = survivors[caller % 2].GrainFactory;
            while (operations.TryDequeue(out var work))
            {
                try
                {
                    await grains.GetGrain<ICounterGrain>($"g{work.Grain}").AddAsync(work.Operation);
                    acknowledged.Add(work);
                }
                catch (Exception ex)
                {
                    failures.Add(ex); // in flight on the victim when it died: unknown outcome, not acknowledged
                }

                if (Interlocked.Increment(ref done) == total / 3)
                {
                    await cluster.KillSiloAsync(victim);
                    killed.SetResult();
                }
            }
        })).ToList();
        await Task.WhenAll(callers);
        Assert.True(killed.Task.IsCompleted);

        // Only calls in flight at the moment of the kill may fail; everything after waits for the new owner.
        Assert.True(failures.Count <= 64, $"{failures.Count} calls failed: {failures.First().Message}");
        Assert.All(failures, ex => Assert.IsType<SiloUnavailableException>(ex));

        var grainsNow = survivors[0].GrainFactory;
        var byGrain = acknowledged.GroupBy(a => a.Grain).ToDictionary(g => g.Key, g => g.Select(a => a.Operation).ToHashSet());
        await Parallel.ForEachAsync(Enumerable.Range(0, GrainCount), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (grain, _) =>
        {
            var stored = await grainsNow.GetGrain<ICounterGrain>($"g{grain}").GetOperationsAsync();
            Assert.Equal(stored.Count, stored.Distinct().Count());
            Assert.Subset(stored.ToHashSet(), byGrain.GetValueOrDefault(grain) ?? []);
        });

        var movedTo = await Task.WhenAll(victimGrains.Take(50).Select(i => grainsNow.GetGrain<ICounterGrain>($"g{i}").GetSiloAsync()));
        Assert.All(movedTo, silo => Assert.Contains(silo, survivors.Select(s => s.SiloId)));
    }

    [Fact]
    public async Task Adding_a_fourth_silo_moves_between_15_and_35_percent_of_grains_all_to_it()
    {
        await using var cluster = await TestCluster.StartAsync(3, Options());
        var grains = cluster.Silos[0].GrainFactory;
        var before = await OwnersAsync(grains);

        var added = await cluster.AddSiloAsync();
        var after = await OwnersAsync(grains);

        var moved = Enumerable.Range(0, GrainCount).Where(i => before[i] != after[i]).ToList();
        Assert.InRange(moved.Count / (double)GrainCount, 0.15, 0.35);
        Assert.All(moved, i => Assert.Equal(added.SiloId, after[i]));
    }

    [Fact]
    public async Task Stopping_a_silo_gracefully_under_load_fails_no_call()
    {
        await using var cluster = await TestCluster.StartAsync(3, Options());
        var callers = cluster.Silos.Take(2).ToArray();
        var leaving = cluster.Silos[2];
        var acknowledged = new ConcurrentBag<(int Grain, int Operation)>();
        var failures = new ConcurrentBag<Exception>();
        var operation = 0;
        using var stop = new CancellationTokenSource();

        var load = Enumerable.Range(0, 48).Select(caller => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var op = Interlocked.Increment(ref operation);
                var grain = op % 300;
                try
                {
                    await callers[caller % 2].GrainFactory.GetGrain<ICounterGrain>($"s{grain}").AddAsync(op);
                    acknowledged.Add((grain, op));
                }
                catch (Exception ex)
                {
                    failures.Add(ex);
                }
            }
        })).ToList();

        await Eventually.TrueAsync(() => acknowledged.Count > 1000, TimeSpan.FromSeconds(30));
        await cluster.StopSiloAsync(leaving);
        var afterStop = acknowledged.Count;
        await Eventually.TrueAsync(() => acknowledged.Count > afterStop + 1000, TimeSpan.FromSeconds(30));
        await stop.CancelAsync();
        await Task.WhenAll(load);

        Assert.True(failures.IsEmpty, $"{failures.Count} calls failed, first: {failures.FirstOrDefault()}");
        var byGrain = acknowledged.GroupBy(a => a.Grain).ToDictionary(g => g.Key, g => g.Select(a => a.Operation).Order().ToList());
        foreach (var (grain, operations) in byGrain)
        {
            var stored = await callers[0].GrainFactory.GetGrain<ICounterGrain>($"s{grain}").GetOperationsAsync();
            Assert.Equal(operations, stored.Order().ToList());
        }
    }

    [Fact]
    public async Task A_silo_the_cluster_declares_dead_stops_serving_and_the_others_take_its_grains()
    {
        await using var cluster = await TestCluster.StartAsync(2, Options());
        var (alive, condemned) = (cluster.Silos[0], cluster.Silos[1]);
        var condemnedKey = Enumerable.Range(0, 100).Select(i => $"d{i}")
            .First(k => alive.Membership.View.GetOwner(new GrainId("counter", k))!.SiloId == condemned.SiloId);
        await alive.GrainFactory.GetGrain<ICounterGrain>(condemnedKey).AddAsync(1);

        // What the others do after missing its heartbeats, done directly.
        await cluster.Database.ExecuteAsync("UPDATE cluster_silos SET status = 'Dead' WHERE silo_id = $1", condemned.SiloId);
        await cluster.Database.ExecuteAsync("UPDATE cluster_version SET version = version + 1");

        Assert.True(await Eventually.TrueAsync(() => condemned.Lifetime.IsStopped, TimeSpan.FromSeconds(10)));
        Assert.True(condemned.Lifetime.WasDeclaredDead);
        await Assert.ThrowsAsync<SiloUnavailableException>(() => condemned.GrainFactory.GetGrain<ICounterGrain>(condemnedKey).AddAsync(2));
        Assert.Equal(2, await alive.GrainFactory.GetGrain<ICounterGrain>(condemnedKey).AddAsync(3));
        Assert.Equal(alive.SiloId, await alive.GrainFactory.GetGrain<ICounterGrain>(condemnedKey).GetSiloAsync());
    }

    [Fact]
    public async Task Calls_between_silos_carry_results_and_exceptions_as_they_are()
    {
        await using var cluster = await TestCluster.StartAsync(2, Options(callTimeout: "00:00:01"));
        var (caller, owner) = (cluster.Silos[0], cluster.Silos[1]);
        var remoteKey = Enumerable.Range(0, 100).Select(i => $"r{i}")
            .First(k => caller.Membership.View.GetOwner(new GrainId("slow", k))!.SiloId == owner.SiloId);
        var remote = caller.GrainFactory.GetGrain<ISlowGrain>(remoteKey);

        Assert.Equal(1, await remote.TouchAsync());
        var failure = await Assert.ThrowsAsync<ArgumentException>(() => remote.FailAsync("no such order"));
        Assert.Equal("no such order", failure.Message);
        var timeout = await Assert.ThrowsAsync<GrainCallTimeoutException>(() => remote.SleepAsync(3_000));
        Assert.Contains(remoteKey, timeout.Message, StringComparison.Ordinal);
    }

    private static async Task<string[]> OwnersAsync(IGrainFactory grains)
    {
        var owners = new string[GrainCount];
        await Parallel.ForEachAsync(Enumerable.Range(0, GrainCount), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, _) =>
            owners[i] = await grains.GetGrain<ICounterGrain>($"m{i}").GetSiloAsync());
        return owners;
    }
}
