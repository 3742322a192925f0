using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace CustomerGrains.Silo.Hosting;

/// <summary>Ready: this silo is Active in Orleans' membership and PostgreSQL answers. Starting, shutting down or cut
/// off from the database, it is not, so a load balancer stops sending it requests.</summary>
internal sealed class SiloHealthCheck(IClusterMembershipService membership, ILocalSiloDetails silo, NpgsqlDataSource database) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var snapshot = membership.CurrentSnapshot;
        var status = snapshot.GetSiloStatus(silo.SiloAddress);
        if (status != SiloStatus.Active)
        {
            return HealthCheckResult.Unhealthy($"The silo is {status} in the cluster, not Active.");
        }

        try
        {
            await using var command = database.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException)
        {
            return HealthCheckResult.Unhealthy("PostgreSQL is unreachable.", ex);
        }

        var active = snapshot.Members.Values.Count(m => m.Status == SiloStatus.Active);
        return HealthCheckResult.Healthy($"{active} active silo(s), membership version {snapshot.Version}.");
    }
}
