namespace CustomerGrains.Runtime;

/// <summary>
/// A grain's durable state. It is read before the grain activates; every write carries the version it read,
/// so two activations of one grain can never silently overwrite each other.
/// </summary>
public interface IPersistentState<TState>
    where TState : new()
{
    /// <summary>The state; a new <typeparamref name="TState"/> when nothing is stored.</summary>
    TState State { get; set; }

    /// <summary>The stored version this activation last read or wrote; 0 when nothing is stored.</summary>
    long Version { get; }

    /// <summary>Whether a stored record exists.</summary>
    bool RecordExists { get; }

    /// <summary>Re-reads the stored state.</summary>
    Task ReadStateAsync(CancellationToken cancellationToken = default);

    /// <summary>Writes <see cref="State"/>. Throws <see cref="InconsistentStateException"/> when another
    /// activation wrote since this one read; the runtime then drops this activation and retries the call once.</summary>
    Task WriteStateAsync(CancellationToken cancellationToken = default);

    /// <summary>Deletes the stored state and resets <see cref="State"/>.</summary>
    Task ClearStateAsync(CancellationToken cancellationToken = default);
}
