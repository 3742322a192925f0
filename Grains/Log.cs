using Microsoft.Extensions.Logging;

namespace CustomerGrains.Grains;

/// <summary>Grain log messages (event ids 4000-4999).</summary>
internal static partial class Log
{
    [LoggerMessage(4000, LogLevel.Warning, "Knowledge base {Tenant}: reranking with embedding model {Model} failed; the lexical order stands")]
    public static partial void RerankFailed(ILogger logger, string tenant, string model, Exception exception);

    [LoggerMessage(4001, LogLevel.Warning, "Customer {Tenant}/{Customer}: a stored interaction could not be published to live views; they read it when they next catch up")]
    public static partial void PublishFailed(ILogger logger, string tenant, string customer, Exception exception);

    [LoggerMessage(4002, LogLevel.Warning, "Knowledge base: {Path} ({Setting}) is not there; matching goes on without it (Debian: apt-get install {Package})")]
    public static partial void LexiconMissing(ILogger logger, string path, string setting, string package);

    [LoggerMessage(4003, LogLevel.Information, "Knowledge base: {Pairs} word pairs from {Path} loaded for matching")]
    public static partial void LexiconLoaded(ILogger logger, int pairs, string path);
}
