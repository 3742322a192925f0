using System.Collections.Concurrent;
using CustomerGrains.Runtime.Membership;
using CustomerGrains.Runtime.Placement;
using Microsoft.Extensions.Logging;

namespace CustomerGrains.Runtime.Activation;

/// <summary>The activations living on this silo: one per owned grain, a pool per stateless worker key.</summary>
internal sealed class ActivationCatalog(ILogger<ActivationCatalog> logger)
{
    private readonly ConcurrentDictionary<GrainId, GrainActivation> _activations = new();
    private readonly ConcurrentDictionary<GrainId, StatelessWorkerPool> _workers = new();
    private ActivationServices? _services;

    public int Count => _activations.Count + _workers.Values.Sum(p => p.Count);

    public ActivationServices Services
    {
        get => _services ?? throw new InvalidOperationException("The catalog is not initialised.");
        set => _services = value;
    }

    public GrainActivation? TryGet(GrainId grainId) =>
        _activations.TryGetValue(grainId, out var activation) && activation.IsUsable ? activation : null;

    /// <summary>The activation of <paramref name="grainId"/>, created if there is none. One that is deactivating
    /// is returned as it is: a call queued behind the deactivation finds it gone and is routed again, so two
    /// activations of one grain never overlap on this silo.</summary>
    public GrainActivation GetOrCreate(GrainId grainId, GrainClass grainClass)
    {
        while (true)
        {
            if (_activations.TryGetValue(grainId, out var existing))
            {
                return existing;
            }

            var created = new GrainActivation(grainId, grainClass, Services, a => _activations.TryRemove(new(a.GrainId, a)));
            if (_activations.TryAdd(grainId, created))
            {
                created.Start();
                return created;
            }
        }
    }

    public GrainActivation GetWorker(GrainId grainId, GrainClass grainClass) =>
        _workers.GetOrAdd(grainId, static (id, state) => new StatelessWorkerPool(id, state.grainClass, state.catalog.Services), (grainClass, catalog: this)).Pick();

    /// <summary>Deactivates every activation unused for at least <paramref name="age"/>.</summary>
    public async Task<int> CollectIdleAsync(TimeSpan age)
    {
        var idle = All().Where(a => a.IsIdleFor(age)).ToList();
        await DeactivateAllAsync(idle, DeactivationReason.IdleCollected);
        Log.Collected(logger, idle.Count);
        return idle.Count;
    }

    /// <summary>After a membership change, hands off the grains another silo owns now.</summary>
    public void HandOff(ClusterView view, SiloInfo self)
    {
        var moved = _activations.Values
            .Where(a => RendezvousPlacement.GetOwner(a.GrainId, view) is { } owner && owner.SiloId != self.SiloId)
            .ToList();
        if (moved.Count > 0)
        {
            _ = DeactivateAllAsync(moved, DeactivationReason.OwnershipMoved);
        }
    }

    /// <summary>Graceful shutdown: every activation finishes its queued turns, then deactivates.</summary>
    public Task DrainAsync() => DeactivateAllAsync(All().ToList(), DeactivationReason.SiloShuttingDown);

    /// <summary>Removes every activation without running grain code (this silo was declared dead).</summary>
    public void DropAll()
    {
        foreach (var activation in All().ToList())
        {
            activation.Drop();
        }
    }

    private IEnumerable<GrainActivation> All() => _activations.Values.Concat(_workers.Values.SelectMany(p => p.Snapshot()));

    private async Task DeactivateAllAsync(IReadOnlyCollection<GrainActivation> activations, DeactivationReason reason)
    {
        // Bounded parallelism: each deactivation may write state, and the pool has only so many connections.
        await Parallel.ForEachAsync(activations, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (activation, _) =>
        {
            try
            {
                await activation.DeactivateAsync(reason);
            }
            catch (Exception ex)
            {
                Log.DeactivationFailed(logger, activation.GrainId.ToString(), ex);
            }
        });
    }
}

/// <summary>Up to <see cref="GrainClass.MaxLocalWorkers"/> activations of one stateless worker key on this silo.</summary>
internal sealed class StatelessWorkerPool(GrainId grainId, GrainClass grainClass, ActivationServices services)
{
    private readonly Lock _lock = new();
    private readonly List<GrainActivation> _workers = [];

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _workers.Count;
            }
        }
    }

    public GrainActivation[] Snapshot()
    {
        lock (_lock)
        {
            return [.. _workers];
        }
    }

    /// <summary>An idle worker if there is one, a new one while under the limit, else the least busy.</summary>
    public GrainActivation Pick()
    {
        lock (_lock)
        {
            GrainActivation? least = null;
            foreach (var worker in _workers)
            {
                if (!worker.IsUsable)
                {
                    continue;
                }

                var load = worker.Load;
                if (load == 0)
                {
                    return worker;
                }

                if (least is null || load < least.Load)
                {
                    least = worker;
                }
            }

            if (least is not null && _workers.Count >= grainClass.MaxLocalWorkers)
            {
                return least;
            }

            var created = new GrainActivation(grainId, grainClass, services, Remove);
            _workers.Add(created);
            created.Start();
            return created;
        }
    }

    private void Remove(GrainActivation worker)
    {
        lock (_lock)
        {
            _workers.Remove(worker);
        }
    }
}
