using System.Collections.Concurrent;

namespace CustomerGrains.Runtime.Storage;

/// <summary>
/// Grain state in process memory, with the same version checks as PostgreSQL. For unit tests only:
/// nothing survives the process, so a silo never uses it unless a test registers it.
/// </summary>
public sealed class MemoryGrainStorage : IGrainStorage
{
    private readonly ConcurrentDictionary<(GrainId, string), StoredState> _records = new();

    public Task<StoredState> ReadAsync(GrainId grainId, string stateName, CancellationToken cancellationToken) =>
        Task.FromResult(_records.GetValueOrDefault((grainId, stateName)));

    public Task<long> WriteAsync(GrainId grainId, string stateName, byte[] payload, long expectedVersion, CancellationToken cancellationToken)
    {
        var key = (grainId, stateName);
        var written = new StoredState(payload, expectedVersion + 1);
        var ok = expectedVersion == 0
            ? _records.TryAdd(key, written)
            : _records.TryGetValue(key, out var current) && current.Version == expectedVersion && _records.TryUpdate(key, written, current);
        return ok
            ? Task.FromResult(written.Version)
            : Task.FromException<long>(new InconsistentStateException($"State '{stateName}' of grain {grainId} changed since version {expectedVersion} was read."));
    }

    public Task ClearAsync(GrainId grainId, string stateName, long expectedVersion, CancellationToken cancellationToken)
    {
        var key = (grainId, stateName);
        if (expectedVersion != 0 && !(_records.TryGetValue(key, out var current) && current.Version == expectedVersion && _records.TryRemove(new(key, current))))
        {
            return Task.FromException(new InconsistentStateException($"State '{stateName}' of grain {grainId} changed since version {expectedVersion} was read."));
        }

        return Task.CompletedTask;
    }
}
