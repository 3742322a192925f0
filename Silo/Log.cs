namespace CustomerGrains.Silo;

/// <summary>Silo log messages (event ids 1000-1999).</summary>
internal static partial class Log
{
    [LoggerMessage(1000, LogLevel.Information, "Applied schema script {Module}/{Script}")]
    public static partial void SchemaApplied(ILogger logger, string module, string script);

    [LoggerMessage(1001, LogLevel.Information, "Starting silo: database {Database}")]
    public static partial void Starting(ILogger logger, string database);

    [LoggerMessage(1002, LogLevel.Critical, "The silo had not stopped {Seconds} s after the stop began (Silo:ShutdownTimeout and its grace): exiting without finishing the disposal")]
    public static partial void ShutdownOverdue(ILogger logger, double seconds);
}
