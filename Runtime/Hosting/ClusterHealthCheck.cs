using CustomerGrains.Runtime.Membership;
using CustomerGrains.Runtime.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CustomerGrains.Runtime.Hosting;

/// <summary>Ready when this silo is active in the cluster, serving, and PostgreSQL answers.</summary>
internal sealed class ClusterHealthCheck(MembershipService membership, SiloLifetime lifetime, Database database) : IHealthCheck
{
    public const string ReadyTag = "ready"; // same tag as the gateway's HealthApi.ReadyTag;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (lifetime.IsStopped || lifetime.IsDraining)
        {
            return HealthCheckResult.Unhealthy("The silo is shutting down.");
        }

        if (!membership.Ready.IsCompletedSuccessfully)
        {
            return HealthCheckResult.Unhealthy("The silo has not joined the cluster yet.");
        }

        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            await using var command = database.DataSource.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(timeout.Token);
        }
        catch (Exception ex) when (Database.IsUnavailable(ex) || ex is OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy("PostgreSQL is unreachable.", ex);
        }

        var view = membership.View;
        return HealthCheckResult.Healthy($"{view.Active.Length} active silo(s), membership version {view.Version}.");
    }
}
