using CustomerGrains.Inference.Embedding;
using CustomerGrains.Inference.Generation;
using CustomerGrains.Inference.Onnx;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CustomerGrains.Inference;

/// <summary>
/// Loads the configured models when the silo starts (so a missing or wrong model stops the start with the reason,
/// instead of failing the first request) and keeps one pool per decoder and one embedder per encoder: which one a
/// model is comes from its inputs (a decoder takes past_key_values).
/// </summary>
public sealed class InferenceHost(IOptions<InferenceOptions> options, TimeProvider time, ILoggerFactory loggers) : IHostedService, IAsyncDisposable
{
    private readonly Dictionary<string, InferencePool> _pools = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Embedder> _embedders = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Chat.ChatEndpoint> _endpoints = new(StringComparer.Ordinal);
    private readonly List<LoadedModel> _loaded = [];

    public IReadOnlyCollection<string> Models => [.. _pools.Keys, .. _embedders.Keys, .. _endpoints.Keys];

    /// <summary>Every loaded model, with what it is and the provider it really runs on.</summary>
    public IReadOnlyList<LoadedModel> Loaded => _loaded;

    /// <summary>The pool of decoder <paramref name="model"/>; a clear error when no such model is loaded on this silo.</summary>
    public InferencePool Pool(string model) =>
        _pools.TryGetValue(model, out var pool) ? pool : throw NotLoaded(model, "a decoder", [.. _pools.Keys, .. _endpoints.Keys]);

    /// <summary>The model server that serves <paramref name="model"/>, where one is configured for it instead of a folder.</summary>
    public bool TryGetEndpoint(string model, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Chat.ChatEndpoint? endpoint) =>
        _endpoints.TryGetValue(model, out endpoint);

    /// <summary>The embedder of encoder <paramref name="model"/>; a clear error when no such model is loaded on this silo.</summary>
    public Embedder Embedder(string model) =>
        _embedders.TryGetValue(model, out var embedder) ? embedder : throw NotLoaded(model, "an encoder", _embedders.Keys);

    private static ModelNotLoadedException NotLoaded(string model, string kind, IReadOnlyCollection<string> loaded) =>
        new(model, loaded.Count == 0
            ? $"No model '{model}' is loaded on this silo as {kind}; configure Inference:Models:{model}:Path."
            : $"No model '{model}' is loaded on this silo as {kind}; loaded: {string.Join(", ", loaded)}.");

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (settings.Models.Count == 0)
        {
            return Task.CompletedTask;
        }

        if (!settings.Serve)
        {
            Log.ModelsServedElsewhere(loggers.CreateLogger<InferenceHost>(), string.Join(", ", settings.Models.Keys));
            return Task.CompletedTask;
        }

        var logger = loggers.CreateLogger<InferencePool>();
        foreach (var (name, model) in settings.Models)
        {
            if (model.Endpoint is { Length: > 0 })
            {
                var endpoint = _endpoints[name] = new Chat.ChatEndpoint(name, model);
                var served = new LoadedModel(name, "chat-endpoint", endpoint.Endpoint.GetLeftPart(UriPartial.Path), "remote", endpoint.ModelId);
                _loaded.Add(served);
                Log.ModelLoaded(logger, served.Kind, name, served.Path, served.Provider, served.RuntimeVersion);
                continue;
            }

            var opened = ModelSession.Open(DecoderModel.ModelFile(model.Path!), settings.SessionFor(model));
            var decoder = DecoderModel.IsGenAi(model.Path!) || EncoderModel.IsDecoder(opened);
            if (decoder)
            {
                _pools[name] = new InferencePool(DecoderModel.Load(model.Path!, opened), new PoolOptions(settings.MaxBatch, settings.MaxTokensInFlight, settings.MaxQueue, name,
                    model.KvCacheBytes ?? DefaultKvCacheBytes(opened)), time, logger);
            }
            else
            {
                _embedders[name] = new Embedder(EncoderModel.Load(model.Path!, opened), settings.MaxBatch, settings.MaxQueue, logger);
            }

            var loaded = new LoadedModel(name, decoder ? "decoder" : "encoder", model.Path!, opened.Provider, ModelSession.RuntimeVersion);
            _loaded.Add(loaded);
            Log.ModelLoaded(logger, loaded.Kind, name, loaded.Path, loaded.Provider, loaded.RuntimeVersion);
        }

        return Task.CompletedTask;
    }

    /// <summary>Without <c>KvCacheBytes</c>: on CUDA, 80% of the device's memory still free once the weights are on
    /// it (the rest for activations); on CPU, a quarter of the memory the process may use.</summary>
    private static long DefaultKvCacheBytes(ModelSession session) =>
        session.Provider == SessionSettings.Cuda && CudaDevice.Memory(session.Settings.CudaDeviceId) is { } device
            ? device.Free / 5 * 4
            : GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4;

    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync();

    public async ValueTask DisposeAsync()
    {
        foreach (var pool in _pools.Values)
        {
            await pool.DisposeAsync();
            pool.Model.Dispose();
        }

        foreach (var embedder in _embedders.Values)
        {
            await embedder.DisposeAsync();
            embedder.Model.Dispose();
        }

        foreach (var endpoint in _endpoints.Values)
        {
            endpoint.Dispose();
        }

        _pools.Clear();
        _embedders.Clear();
        _endpoints.Clear();
        _loaded.Clear();
    }
}

/// <summary>A model this silo serves: a decoder (generation pool), an encoder (embeddings), or a chat endpoint (a model
/// server's; then <see cref="Path"/> is its URL, <see cref="Provider"/> <c>remote</c> and <see cref="RuntimeVersion"/>
/// the server's model id), and where it runs.</summary>
public sealed record LoadedModel(string Name, string Kind, string Path, string Provider, string RuntimeVersion);

/// <summary>The silo has no model of that name (and kind) loaded: it is not configured, or configured as another kind.</summary>
public sealed class ModelNotLoadedException(string model, string message) : InvalidOperationException(message)
{
    public string Model { get; } = model;
}
