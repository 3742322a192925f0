namespace CustomerGrains.Runtime.Tests;

public sealed class TurnTests(SingleSiloFixture silo) : IClassFixture<SingleSiloFixture>
{
    [Fact]
    public async Task A_thousand_concurrent_calls_to_one_grain_never_overlap()
    {
        var grain = silo.Grains.GetGrain<ITurnProbeGrain>("turns");

        await Task.WhenAll(Enumerable.Range(0, 1000).Select(_ => Task.Run(grain.ExclusiveAsync)));

        var observed = await grain.GetObservedAsync();
        Assert.Equal(1, observed.MaxExclusiveOverlap);
    }

    [Fact]
    public async Task Read_only_calls_run_together_but_never_beside_an_exclusive_call()
    {
        var grain = silo.Grains.GetGrain<ITurnProbeGrain>("readers");

        var calls = Enumerable.Range(0, 200).Select(i => Task.Run(() => i % 10 == 0 ? grain.ExclusiveAsync() : grain.ReadAsync()));
        await Task.WhenAll(calls);

        var observed = await grain.GetObservedAsync();
        Assert.True(observed.MaxReaders > 1, $"read-only calls never overlapped (max {observed.MaxReaders})");
        Assert.Equal(0, observed.ReadersDuringExclusive);
        Assert.Equal(1, observed.MaxExclusiveOverlap);
    }

    [Fact]
    public async Task A_stateless_worker_runs_at_most_its_limit_of_activations_per_silo()
    {
        var worker = silo.Grains.GetGrain<IWorkerGrain>("pool");

        var ids = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => worker.WorkAsync(30)));

        Assert.Equal(2, ids.Distinct().Count());
        Assert.All(ids.Distinct(), id => Assert.Equal(1, WorkerGrain.Concurrency[id]));
    }

    [Fact]
    public async Task A_call_past_the_timeout_fails_with_an_exception_naming_grain_and_method()
    {
        var grain = silo.Grains.GetGrain<ISlowGrain>("sleepy");

        var ex = await Assert.ThrowsAsync<GrainCallTimeoutException>(() => grain.SleepAsync(5_000));

        Assert.Contains("slow/sleepy", ex.Message, StringComparison.Ordinal);
        Assert.Contains("SleepAsync", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_call_that_waited_for_its_turn_past_the_timeout_never_runs()
    {
        var grain = silo.Grains.GetGrain<ISlowGrain>("queue");

        // The first call holds the turn past the 1 s timeout; the second waits behind it and times out there.
        var holding = Assert.ThrowsAsync<GrainCallTimeoutException>(() => grain.SleepAsync(1_500));
        var queued = Assert.ThrowsAsync<GrainCallTimeoutException>(grain.TouchAsync);
        await holding;
        await queued;

        // This call queues behind the same sleeper; when the turn is released the expired call ahead of it must
        // be discarded, so this one is the first touch.
        Assert.Equal(1, await grain.TouchAsync());
    }

    [Fact]
    public void An_interface_no_silo_implements_gets_an_error_naming_it()
    {
        var ex = Assert.Throws<UnknownGrainException>(() => silo.Grains.GetGrain<IUnregisteredGrain>("x"));

        Assert.Contains(nameof(IUnregisteredGrain), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_grain_exception_reaches_the_caller_as_itself()
    {
        var grain = silo.Grains.GetGrain<ISlowGrain>("thrower");

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => grain.FailAsync("bad input"));

        Assert.Equal("bad input", ex.Message);
    }
}
