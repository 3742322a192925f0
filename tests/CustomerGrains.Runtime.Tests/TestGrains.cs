using System.Collections.Concurrent;
using CustomerGrains.Runtime;
using CustomerGrains.Runtime.Membership;

namespace CustomerGrains.Runtime.Tests;

public sealed class CounterState
{
    public List<int> Operations { get; set; } = [];
}

/// <summary>Records every operation id it is given, durably, without de-duplicating: a retried call would show twice.</summary>
public interface ICounterGrain : IGrainWithStringKey
{
    Task<int> AddAsync(int operationId);

    [ReadOnly]
    Task<IReadOnlyList<int>> GetOperationsAsync();

    /// <summary>The membership id of the silo this activation lives on.</summary>
    [ReadOnly]
    Task<string> GetSiloAsync();
}

public sealed class CounterGrain(
    [PersistentState("counter")] IPersistentState<CounterState> state,
    MembershipService membership) : Grain, ICounterGrain
{
    public async Task<int> AddAsync(int operationId)
    {
        state.State.Operations.Add(operationId);
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State.Operations.RemoveAt(state.State.Operations.Count - 1);
            throw;
        }

        return state.State.Operations.Count;
    }

    public Task<IReadOnlyList<int>> GetOperationsAsync() => Task.FromResult<IReadOnlyList<int>>([.. state.State.Operations]);

    public Task<string> GetSiloAsync() => Task.FromResult(membership.Self!.SiloId);
}

public sealed record TurnObservation(int MaxExclusiveOverlap, int MaxReaders, int ReadersDuringExclusive);

/// <summary>Measures, inside the grain, how many calls run at once.</summary>
public interface ITurnProbeGrain : IGrainWithStringKey
{
    Task ExclusiveAsync();

    [ReadOnly]
    Task ReadAsync();

    [AlwaysInterleave]
    Task<TurnObservation> GetObservedAsync();
}

public sealed class TurnProbeGrain : Grain, ITurnProbeGrain
{
    private int _exclusive;
    private int _readers;
    private int _maxExclusive;
    private int _maxReaders;
    private int _readersDuringExclusive;

    public async Task ExclusiveAsync()
    {
        var inside = Interlocked.Increment(ref _exclusive);
        _maxExclusive = Math.Max(_maxExclusive, inside);
        _readersDuringExclusive = Math.Max(_readersDuringExclusive, Volatile.Read(ref _readers));
        // Give up the thread twice: a second call let in now would be counted above.
        await Task.Yield();
        await Task.Yield();
        _readersDuringExclusive = Math.Max(_readersDuringExclusive, Volatile.Read(ref _readers));
        Interlocked.Decrement(ref _exclusive);
    }

    public async Task ReadAsync()
    {
        var readers = Interlocked.Increment(ref _readers);
        InterlockedMax(ref _maxReaders, readers);
        // Long enough for the readers let in together to overlap; short enough that 20 groups of them, one after
        // another between the exclusive calls, stay far inside the fixture's 1 s call timeout on a loaded machine.
        await Task.Delay(5);
        Interlocked.Decrement(ref _readers);
    }

    public Task<TurnObservation> GetObservedAsync() =>
        Task.FromResult(new TurnObservation(_maxExclusive, Volatile.Read(ref _maxReaders), _readersDuringExclusive));

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while (value > (current = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}

public sealed class DeferredState
{
    public int Count { get; set; }
}

public sealed record DeferredSnapshot(int Count, Guid Activation);

/// <summary>Counts in memory and writes only when deactivated: state survives only if deactivation persists it.</summary>
public interface IDeferredCounterGrain : IGrainWithStringKey
{
    Task IncrementAsync();

    Task<DeferredSnapshot> GetAsync();
}

public sealed class DeferredCounterGrain([PersistentState("deferred")] IPersistentState<DeferredState> state) : Grain, IDeferredCounterGrain
{
    private readonly Guid _activation = Guid.NewGuid();

    public Task IncrementAsync()
    {
        state.State.Count++;
        return Task.CompletedTask;
    }

    public Task<DeferredSnapshot> GetAsync() => Task.FromResult(new DeferredSnapshot(state.State.Count, _activation));

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) =>
        state.WriteStateAsync(cancellationToken);
}

/// <summary>A stateless worker with at most two activations per silo.</summary>
public interface IWorkerGrain : IGrainWithStringKey
{
    Task<Guid> WorkAsync(int milliseconds);
}

[StatelessWorker(2)]
public sealed class WorkerGrain : Grain, IWorkerGrain
{
    public static readonly ConcurrentDictionary<Guid, int> Concurrency = new();
    private readonly Guid _id = Guid.NewGuid();
    private int _inside;

    public async Task<Guid> WorkAsync(int milliseconds)
    {
        var inside = Interlocked.Increment(ref _inside);
        Concurrency.AddOrUpdate(_id, inside, (_, max) => Math.Max(max, inside));
        await Task.Delay(milliseconds);
        Interlocked.Decrement(ref _inside);
        return _id;
    }
}

public interface ISlowGrain : IGrainWithStringKey
{
    Task SleepAsync(int milliseconds);

    Task FailAsync(string message);

    Task<int> TouchAsync();
}

public sealed class SlowGrain : Grain, ISlowGrain
{
    private int _touches;

    public Task SleepAsync(int milliseconds) => Task.Delay(milliseconds);

    public Task<int> TouchAsync() => Task.FromResult(++_touches);

    public Task FailAsync(string message) => throw new ArgumentException(message);
}

/// <summary>Registered by no silo.</summary>
public interface IUnregisteredGrain : IGrainWithStringKey
{
    Task PingAsync();
}
