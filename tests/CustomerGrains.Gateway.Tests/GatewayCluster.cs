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
    public const string AcmeAgent = "acme-agent-key-0123456789";
    public const string AcmeAdmin = "acme-admin-key-0123456789";
    public const string GlobexAdmin = "globex-admin-key-012345678";

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    public TestCluster Cluster { get; private set; } = null!;

    public FakeHubSpot HubSpot { get; private set; } = null!;

    public TestSilo Silo => Cluster.Silos[0];

    public async Task InitializeAsync()
    {
        HubSpot = await FakeHubSpot.StartAsync();
        Cluster = await TestCluster.StartAsync(1, Options(HubSpot.BaseUrl));
    }

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        await HubSpot.DisposeAsync();
    }

    public static TestClusterOptions Options(string hubSpotUrl)
    {
        var options = new TestClusterOptions();
        var c = options.Configuration;
        c["Grains:CallTimeout"] = "00:00:10";
        c["Inbox:ClaimTimeout"] = "00:00:12";
        c["Inbox:PollInterval"] = "00:00:00.200";
        c["Inbox:MaxAttempts"] = "3";
        c["Tenants:acme:ApiKeys:0:Key"] = AcmeAgent;
        c["Tenants:acme:ApiKeys:0:Role"] = "agent";
        c["Tenants:acme:ApiKeys:1:Key"] = AcmeAdmin;
        c["Tenants:acme:ApiKeys:1:Role"] = "admin";
        c["Tenants:acme:Connections:cw1:Provider"] = "chatwoot";
        c["Tenants:acme:Connections:cw1:Secrets:0"] = "an-old-secret-being-rotated";
        c["Tenants:acme:Connections:cw1:Secrets:1"] = Signing.ChatwootSecret;
        c["Tenants:acme:Connections:zd1:Provider"] = "zendesk";
        c["Tenants:acme:Connections:zd1:Secrets:0"] = Signing.ZendeskSecret;
        c["Tenants:acme:Connections:ic1:Provider"] = "intercom";
        c["Tenants:acme:Connections:ic1:Secrets:0"] = Signing.IntercomSecret;
        c["Tenants:acme:Connections:hs1:Provider"] = "hubspot";
        c["Tenants:acme:Connections:hs1:Secrets:0"] = Signing.HubSpotSecret;
        c["Tenants:acme:Connections:hs1:Options:AccessToken"] = FakeHubSpot.AccessToken;
        c["Tenants:acme:Connections:hs1:Options:ApiBaseUrl"] = hubSpotUrl;
        c["Tenants:acme:Connections:crm1:Provider"] = "standard";
        c["Tenants:acme:Connections:crm1:Secrets:0"] = Signing.StandardSecret;
        c["Tenants:globex:ApiKeys:0:Key"] = GlobexAdmin;
        c["Tenants:globex:ApiKeys:0:Role"] = "admin";
        c["Tenants:globex:Connections:gcw:Provider"] = "chatwoot";
        c["Tenants:globex:Connections:gcw:Secrets:0"] = Signing.ChatwootSecret;
        options.ConfigureSilo = builder =>
        {
            builder.Services.AddCustomerGrains();
            builder.Services.AddGateway(builder.Configuration);
        };
        options.ConfigureApp = app => app.MapGatewayApi();
        return options;
    }

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
