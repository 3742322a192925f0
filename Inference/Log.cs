using Microsoft.Extensions.Logging;

namespace CustomerGrains.Inference;

/// <summary>Inference log messages (event ids 3000-3999).</summary>
internal static partial class Log
{
    [LoggerMessage(3000, LogLevel.Error, "A model step failed; the {Count} request(s) in the batch fail with it")]
    public static partial void StepFailed(ILogger logger, int count, Exception exception);
}
