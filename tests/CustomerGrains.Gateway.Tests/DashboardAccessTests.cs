using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace CustomerGrains.Gateway.Tests;

/// <summary>The Orleans dashboard is the whole cluster's (every tenant's grains, the silos' logs): operators' keys open
/// it, no tenant's key does, and its Trace page is off unless enabled.</summary>
public sealed class DashboardAccessTests
{
    [Fact]
    public async Task A_tenants_admin_key_does_not_open_the_cluster_wide_dashboard_and_its_trace_stays_off()
    {
        await using var database = await TestDatabase.CreateAsync();
        await using var silo = await SiloProcess.StartAsync(database, GatewayTestOptions.Create("http://127.0.0.1:9").Configuration);
        using var client = silo.CreateClient();

        async Task<HttpStatusCode> GetAsync(string path, AuthenticationHeaderValue? authorization)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path) { Headers = { Authorization = authorization } };
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            return response.StatusCode;
        }

        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes("ops:" + GatewayTestOptions.Operator));
        Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync("/dashboard/DashboardCounters", new("Bearer", GatewayTestOptions.AcmeAdmin)));
        Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync("/dashboard/DashboardCounters", new("Bearer", GatewayTestOptions.GlobexAdmin)));
        Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync("/dashboard/Trace", new("Bearer", GatewayTestOptions.AcmeAdmin)));
        Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync("/dashboard/DashboardCounters", null));
        Assert.Equal(HttpStatusCode.OK, await GetAsync("/dashboard/DashboardCounters", new("Bearer", GatewayTestOptions.Operator)));
        Assert.Equal(HttpStatusCode.OK, await GetAsync("/dashboard/index.html", new("Basic", basic)));
        Assert.Equal(HttpStatusCode.NotFound, await GetAsync("/dashboard/Trace", new("Bearer", GatewayTestOptions.Operator)));
    }
}
