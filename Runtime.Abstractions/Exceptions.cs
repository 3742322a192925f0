namespace CustomerGrains.Runtime;

/// <summary>A write found the stored version changed since this activation read it.</summary>
public sealed class InconsistentStateException(string message) : Exception(message);

/// <summary>A grain call did not complete within the configured call timeout.</summary>
public sealed class GrainCallTimeoutException(string message) : TimeoutException(message);

/// <summary>The silo that owns a grain could not be reached, or stopped while the call was in flight,
/// so whether the call ran is unknown.</summary>
public sealed class SiloUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>PostgreSQL could not be reached; calls that need it fail until it returns.</summary>
public sealed class StorageUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>A grain type or method that no silo knows.</summary>
public sealed class UnknownGrainException(string message) : Exception(message);

/// <summary>A grain on another silo threw an exception of a type that is not recreated locally;
/// <see cref="RemoteExceptionType"/> names it.</summary>
public sealed class GrainException(string remoteExceptionType, string message) : Exception(message)
{
    public string RemoteExceptionType { get; } = remoteExceptionType;
}
