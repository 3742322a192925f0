using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace CustomerGrains.Gateway.Tests;

/// <summary>The Orleans dashboard is the whole cluster's (every tenant's grains, the silos' logs): operators' keys open
/// it, no tenant's key does, its Trace page is off unless enabled, and with a management port the operators' routes are
/// not on the public port at all.</summary>
public sealed class DashboardAccessTests
{
    [Fact]
    public async Task A_tenants_admin_key_does_not_open_the_cluster_wide_dashboard_and_its_trace_stays_off()
    {
        await using var database = await TestDatabase.CreateAsync();
        var management = TestCluster.FreePort();
        var configuration = new Dictionary<string, string?>(GatewayTestOptions.Create("http://127.0.0.1:9").Configuration)
        {
            ["Silo:ManagementPort"] = management.ToString(CultureInfo.InvariantCulture),
        };
        await using var silo = await SiloProcess.StartAsync(database, configuration);
        using var operators = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{management}") };
        using var publicPort = silo.CreateClient();

        static async Task<HttpStatusCode> GetAsync(HttpClient client, string path, AuthenticationHeaderValue? authorization)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path) { Headers = { Authorization = authorization } };
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            return response.StatusCode;
        }

        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes("ops:" + GatewayTestOptions.Operator));
        Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync(operators, "/dashboard/DashboardCounters", new("Bearer", GatewayTestOptions.AcmeAdmin)));
        Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync(operators, "/dashboard/DashboardCounters", new("Bearer", GatewayTestOptions.GlobexAdmin)));
        Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync(operators, "/dashboard/Trace", new("Bearer", GatewayTestOptions.AcmeAdmin)));
        Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync(operators, "/dashboard/DashboardCounters", null));
        Assert.Equal(HttpStatusCode.OK, await GetAsync(operators, "/dashboard/DashboardCounters", new("Bearer", GatewayTestOptions.Operator)));
        Assert.Equal(HttpStatusCode.OK, await GetAsync(operators, "/dashboard/index.html", new("Basic", basic)));
        Assert.Equal(HttpStatusCode.NotFound, await GetAsync(operators, "/dashboard/Trace", new("Bearer", GatewayTestOptions.Operator)));

        // The operators' routes are on the management port only, and it serves nothing else.
        Assert.Equal(HttpStatusCode.OK, await GetAsync(operators, "/metrics", null));
        Assert.Equal(HttpStatusCode.OK, await GetAsync(operators, "/openapi/v1.json", null));
        foreach (var path in new[] { "/metrics", "/dashboard/DashboardCounters", "/openapi/v1.json" })
        {
            Assert.Equal(HttpStatusCode.NotFound, await GetAsync(publicPort, path, new("Bearer", GatewayTestOptions.Operator)));
        }

        Assert.Equal(HttpStatusCode.NotFound, await GetAsync(operators, "/v1/me", new("Bearer", GatewayTestOptions.AcmeAdmin)));
        Assert.Equal(HttpStatusCode.OK, await GetAsync(publicPort, "/v1/me", new("Bearer", GatewayTestOptions.AcmeAdmin)));
    }
}
