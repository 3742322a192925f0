using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Routing;

namespace CustomerGrains.Gateway;

/// <summary>Liveness and readiness for load balancers and orchestrators.</summary>
public static class HealthApi
{
    /// <summary>Tag of the checks that gate readiness (PostgreSQL reachable, silo active in the cluster).</summary>
    public const string ReadyTag = "ready";

    /// <summary><c>GET /health/live</c>: the process answers. <c>GET /health/ready</c>: every check tagged
    /// <see cref="ReadyTag"/> passes (503 otherwise), so a load balancer stops sending to a silo that is
    /// starting, draining or cut off from PostgreSQL.</summary>
    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains(ReadyTag) });
        return app;
    }
}
