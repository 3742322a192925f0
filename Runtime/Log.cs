using Microsoft.Extensions.Logging;

namespace CustomerGrains.Runtime;

/// <summary>Runtime log messages (event ids 1000-1999).</summary>
internal static partial class Log
{
    [LoggerMessage(1000, LogLevel.Information, "Applied schema script {Module}/{Script}")]
    public static partial void SchemaApplied(ILogger logger, string module, string script);

    [LoggerMessage(1002, LogLevel.Information, "Starting silo: cluster {ClusterId}, service {ServiceId}, database {Database}, call timeout {CallTimeout}, death timeout {DeathTimeout}")]
    public static partial void Starting(ILogger logger, string clusterId, string serviceId, string database, TimeSpan callTimeout, TimeSpan deathTimeout);

    [LoggerMessage(1001, LogLevel.Critical, "Cannot start: {Reason}")]
    public static partial void StartFailed(ILogger logger, string reason, Exception exception);

    [LoggerMessage(1010, LogLevel.Information, "Silo {SiloId} joined cluster {ClusterId} at {Endpoint}")]
    public static partial void Joined(ILogger logger, string siloId, string clusterId, string endpoint);

    [LoggerMessage(1011, LogLevel.Information, "Membership version {Version}: {ActiveCount} active silo(s): {Silos}")]
    public static partial void ViewChanged(ILogger logger, long version, int activeCount, string silos);

    [LoggerMessage(1012, LogLevel.Warning, "Declared silo(s) dead after {Timeout} without a heartbeat: {Silos}")]
    public static partial void DeclaredDead(ILogger logger, TimeSpan timeout, string silos);

    [LoggerMessage(1013, LogLevel.Critical, "This silo {SiloId} was declared dead by the cluster; it stops serving")]
    public static partial void SelfDeclaredDead(ILogger logger, string siloId);

    [LoggerMessage(1014, LogLevel.Warning, "Membership refresh failed; retrying next interval")]
    public static partial void MembershipRefreshFailed(ILogger logger, Exception exception);

    [LoggerMessage(1015, LogLevel.Information, "Silo {SiloId} is shutting down: draining {Count} activation(s)")]
    public static partial void Draining(ILogger logger, string siloId, int count);

    [LoggerMessage(1016, LogLevel.Information, "Silo {SiloId} left cluster {ClusterId}")]
    public static partial void Left(ILogger logger, string siloId, string clusterId);

    [LoggerMessage(1017, LogLevel.Warning, "Leaving the cluster cleanly failed; the others will declare this silo dead after the timeout")]
    public static partial void LeaveFailed(ILogger logger, Exception exception);

    [LoggerMessage(1020, LogLevel.Warning, "Deactivating {GrainId} failed")]
    public static partial void DeactivationFailed(ILogger logger, string grainId, Exception exception);

    [LoggerMessage(1021, LogLevel.Debug, "Collected {Count} idle activation(s)")]
    public static partial void Collected(ILogger logger, int count);

    [LoggerMessage(1022, LogLevel.Warning, "State conflict on {GrainId}; dropping the activation and retrying the call once")]
    public static partial void StateConflict(ILogger logger, string grainId);

    [LoggerMessage(1030, LogLevel.Warning, "Rejected a cluster call without a valid cluster key from {Remote}")]
    public static partial void Unauthorized(ILogger logger, string? remote);
}
