namespace CustomerGrains.Runtime.Storage;

/// <summary>A stored state record: its JSON payload and version (0 when nothing is stored).</summary>
public readonly record struct StoredState(byte[]? Payload, long Version);

/// <summary>Where grain state lives. Writes are conditional on the version the caller read.</summary>
public interface IGrainStorage
{
    Task<StoredState> ReadAsync(GrainId grainId, string stateName, CancellationToken cancellationToken);

    /// <summary>Writes <paramref name="payload"/> if the stored version is still <paramref name="expectedVersion"/>
    /// and returns the new version; throws <see cref="InconsistentStateException"/> otherwise.</summary>
    Task<long> WriteAsync(GrainId grainId, string stateName, byte[] payload, long expectedVersion, CancellationToken cancellationToken);

    /// <summary>Deletes the record if the stored version is still <paramref name="expectedVersion"/>.</summary>
    Task ClearAsync(GrainId grainId, string stateName, long expectedVersion, CancellationToken cancellationToken);
}
