using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using CustomerGrains.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CustomerGrains.Gateway.Tests;

/// <summary>
/// Silos hosting the customer grains and the gateway, with two tenants: acme (a connection per provider, keys for
/// every role) and globex (its own keys and Chatwoot connection), and a fake HubSpot API.
/// </summary>
public sealed class GatewayCluster : IAsyncLifetime
{
    public const string AcmeAgent = GatewayTestOptions.AcmeAgent;
    public const string AcmeAdmin = GatewayTestOptions.AcmeAdmin;
    public const string GlobexAdmin = GatewayTestOptions.GlobexAdmin;
    public const string AcmeSenior = GatewayTestOptions.AcmeSenior;

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    public TestCluster Cluster { get; private set; } = null!;

    public FakeHubSpot HubSpot { get; private set; } = null!;

    /// <summary>Receives acme's escalation notifications.</summary>
    public RecordingReceiver Escalations { get; private set; } = null!;

    public TestSilo Silo => Cluster.Silos[0];

    public async Task InitializeAsync()
    {
        HubSpot = await FakeHubSpot.StartAsync();
        Escalations = await RecordingReceiver.StartAsync();
        Cluster = await TestCluster.StartAsync(1, GatewayTestOptions.Create(HubSpot.BaseUrl, Escalations.Url));
    }

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        await HubSpot.DisposeAsync();
        await Escalations.DisposeAsync();
    }

    public static TestClusterOptions Options(string hubSpotUrl) => GatewayTestOptions.Create(hubSpotUrl);

    /// <summary>Posts a webhook body with headers to a silo's public endpoint.</summary>
    public static async Task<HttpResponseMessage> PostWebhookAsync(TestSilo silo, string path, string body, IDictionary<string, string> headers)
    {
        using var client = silo.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return await client.SendAsync(request);
    }

    public Task<HttpResponseMessage> PostWebhookAsync(string path, string body, IDictionary<string, string> headers) => PostWebhookAsync(Silo, path, body, headers);

    public HttpClient Agent(string key = AcmeAgent, TestSilo? silo = null)
    {
        var client = (silo ?? Silo).CreateClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    /// <summary>The customer's context, or null while it does not exist (yet).</summary>
    public async Task<Grains.CustomerContext?> ContextAsync(string customer, string key = AcmeAgent)
    {
        using var client = Agent(key);
        using var response = await client.GetAsync($"/v1/customers/{Uri.EscapeDataString(customer)}/context");
        return response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<Grains.CustomerContext>(Json) : null;
    }

    /// <summary>Waits until the customer's history has <paramref name="count"/> interactions.</summary>
    public async Task<Grains.CustomerContext> WaitForInteractionsAsync(string customer, int count)
    {
        Grains.CustomerContext? context = null;
        var arrived = await Eventually.TrueAsync(async () => (context = await ContextAsync(customer))?.Stats.Interactions >= count, TimeSpan.FromSeconds(20));
        Assert.True(arrived, $"{customer} has {context?.Stats.Interactions ?? 0} interaction(s), expected {count}");
        return context!;
    }
}
