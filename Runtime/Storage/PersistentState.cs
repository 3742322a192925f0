using System.Text.Json;

namespace CustomerGrains.Runtime.Storage;

/// <summary>The <see cref="IPersistentState{TState}"/> handed to a grain constructor.</summary>
internal sealed class PersistentState<TState>(GrainId grainId, string stateName, IGrainStorage storage, JsonSerializerOptions json)
    : IPersistentState<TState>, IPersistentStateLoader
    where TState : new()
{
    public TState State { get; set; } = new();

    public long Version { get; private set; }

    public bool RecordExists => Version != 0;

    public async Task ReadStateAsync(CancellationToken cancellationToken = default)
    {
        var stored = await storage.ReadAsync(grainId, stateName, cancellationToken);
        State = stored.Payload is null ? new TState() : JsonSerializer.Deserialize<TState>(stored.Payload, json) ?? new TState();
        Version = stored.Version;
    }

    public async Task WriteStateAsync(CancellationToken cancellationToken = default)
    {
        var payload = JsonSerializer.SerializeToUtf8Bytes(State, json);
        Version = await storage.WriteAsync(grainId, stateName, payload, Version, cancellationToken);
    }

    public async Task ClearStateAsync(CancellationToken cancellationToken = default)
    {
        await storage.ClearAsync(grainId, stateName, Version, cancellationToken);
        State = new TState();
        Version = 0;
    }
}

/// <summary>Lets the activation read every state before the grain's <c>OnActivateAsync</c>.</summary>
internal interface IPersistentStateLoader
{
    Task ReadStateAsync(CancellationToken cancellationToken);
}
