using Microsoft.Extensions.Logging;

namespace CustomerGrains.Inference;

/// <summary>Inference log messages (event ids 3000-3999).</summary>
internal static partial class Log
{
    [LoggerMessage(3000, LogLevel.Error, "A model step failed; the {Count} request(s) in the batch fail with it")]
    public static partial void StepFailed(ILogger logger, int count, Exception exception);

    [LoggerMessage(3001, LogLevel.Information, "Loaded {Kind} {Model} from {Path} on {Provider} (ONNX Runtime {Version})")]
    public static partial void ModelLoaded(ILogger logger, string kind, string model, string path, string provider, string version);

    [LoggerMessage(3002, LogLevel.Information, "Inference:Serve is false: models {Models} are served by other silos")]
    public static partial void ModelsServedElsewhere(ILogger logger, string models);

    [LoggerMessage(3003, LogLevel.Error, "Embedding {Count} text(s) failed; the requests in the batch fail with it")]
    public static partial void EmbeddingFailed(ILogger logger, int count, Exception exception);
}
