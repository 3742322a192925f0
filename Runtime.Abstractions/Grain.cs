namespace CustomerGrains.Runtime;

/// <summary>Why an activation is going away.</summary>
public enum DeactivationReason
{
    /// <summary>The grain asked for it with <see cref="Grain.DeactivateOnIdle"/>.</summary>
    ApplicationRequested,
    /// <summary>Unused for longer than the collection age.</summary>
    IdleCollected,
    /// <summary>Its silo is shutting down gracefully.</summary>
    SiloShuttingDown,
    /// <summary>Another silo owns the grain now (a silo joined or left).</summary>
    OwnershipMoved,
    /// <summary>A state write conflicted; the activation is dropped without further writes.</summary>
    StateConflict,
}

/// <summary>What the runtime gives each activation; implemented by the runtime.</summary>
internal interface IGrainContext
{
    GrainId GrainId { get; }

    IGrainFactory GrainFactory { get; }

    void DeactivateOnIdle();
}

/// <summary>
/// The base of every grain class. Calls to one activation run one at a time (turn-based), except methods
/// marked <see cref="ReadOnlyAttribute"/> or <see cref="AlwaysInterleaveAttribute"/>.
/// </summary>
public abstract class Grain
{
    private IGrainContext? _context;

    internal IGrainContext Context
    {
        get => _context ?? throw new InvalidOperationException("This grain was not created by the grain runtime.");
        set => _context = value;
    }

    /// <summary>This grain's identity.</summary>
    public GrainId GrainId => Context.GrainId;

    /// <summary>References to other grains.</summary>
    public IGrainFactory GrainFactory => Context.GrainFactory;

    /// <summary>This grain's key.</summary>
    public string GetPrimaryKeyString() => Context.GrainId.Key;

    /// <summary>Runs once per activation, after persistent state is read and before the first call.</summary>
    public virtual Task OnActivateAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Runs once when the activation goes away (idle, shutdown, ownership moved). Flush anything
    /// not yet written here. Not called when a state conflict drops the activation.</summary>
    public virtual Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Deactivates this activation once the current call returns.</summary>
    protected void DeactivateOnIdle() => Context.DeactivateOnIdle();
}
