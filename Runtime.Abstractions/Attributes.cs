namespace CustomerGrains.Runtime;

/// <summary>
/// A grain method that does not change state: it may run concurrently with other read-only calls,
/// never with a call that is not read-only.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class ReadOnlyAttribute : Attribute;

/// <summary>A grain method that may run concurrently with any other call of its activation.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class AlwaysInterleaveAttribute : Attribute;

/// <summary>
/// A grain class with no identity-bound state: every silo keeps a local pool of up to
/// <see cref="MaxLocalWorkers"/> activations per key and calls never leave the caller's silo.
/// </summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class StatelessWorkerAttribute(int maxLocalWorkers = 0) : Attribute
{
    /// <summary>The most activations per key on one silo; 0 means one per processor.</summary>
    public int MaxLocalWorkers { get; } = maxLocalWorkers;
}

/// <summary>
/// Names a grain class's type as stored and sent between silos. Defaults to the class name without its
/// "Grain" suffix, lower-cased; set it to keep stored state when a class is renamed.
/// </summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class GrainTypeAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}

/// <summary>Marks a grain constructor parameter of type <see cref="IPersistentState{TState}"/>.</summary>
[AttributeUsage(AttributeTargets.Parameter)]
public sealed class PersistentStateAttribute(string stateName) : Attribute
{
    public string StateName { get; } = stateName;
}
