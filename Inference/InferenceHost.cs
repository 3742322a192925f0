using CustomerGrains.Inference.Generation;
using CustomerGrains.Inference.Native;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CustomerGrains.Inference;

/// <summary>
/// Loads the configured models when the silo starts (so a missing or wrong model stops the start with the reason,
/// instead of failing the first request) and keeps one pool per model.
/// </summary>
public sealed class InferenceHost(IOptions<InferenceOptions> options, TimeProvider time, ILoggerFactory loggers) : IHostedService, IAsyncDisposable
{
    private readonly Dictionary<string, InferencePool> _pools = new(StringComparer.Ordinal);
    private OrtRuntime? _runtime;

    public IReadOnlyCollection<string> Models => _pools.Keys;

    /// <summary>The pool of <paramref name="model"/>; a clear error when no such model is loaded on this silo.</summary>
    public InferencePool Pool(string model) =>
        _pools.TryGetValue(model, out var pool)
            ? pool
            : throw new InvalidOperationException(_pools.Count == 0
                ? $"No model is loaded on this silo; configure Inference:Models:{model}:Path."
                : $"No model '{model}' is loaded on this silo; loaded: {string.Join(", ", _pools.Keys)}.");

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (settings.Models.Count == 0)
        {
            return Task.CompletedTask;
        }

        _runtime = OrtRuntime.Load(OrtLibrary.Resolve(settings.OrtLibrary));
        var session = new SessionSettings(settings.ExecutionProvider, settings.CudaDeviceId, settings.FallbackToCpu, settings.IntraOpThreads, AllowSpinning: settings.AllowSpinning);
        var logger = loggers.CreateLogger<InferencePool>();
        foreach (var (name, model) in settings.Models)
        {
            var loaded = DecoderModel.Load(_runtime, model.Path!, session);
            Log.ModelLoaded(logger, name, model.Path!, loaded.Session.ExecutionProvider, _runtime.Version);
            if (loaded.Session.FallbackReason is { } reason)
            {
                Log.FellBackToCpu(logger, name, reason);
            }

            _pools[name] = new InferencePool(loaded, new PoolOptions(settings.MaxBatch, settings.MaxTokensInFlight, settings.MaxQueue), time, logger);
        }

        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync();

    public async ValueTask DisposeAsync()
    {
        foreach (var pool in _pools.Values)
        {
            await pool.DisposeAsync();
            pool.Model.Dispose();
        }

        _pools.Clear();
        _runtime?.Dispose();
        _runtime = null;
    }
}
