using System.Net.Http.Json;
using CustomerGrains.Grains;

namespace CustomerGrains.Gateway.Tests;

/// <summary>Contacts stored before identities were per connection keep their customer after the upgrade.</summary>
public sealed class ConnectionIdentityTests
{
    [Fact]
    public async Task A_contact_stored_before_identities_were_per_connection_keeps_its_customer_where_the_tenant_has_one_such_connection()
    {
        await using var cluster = await TestCluster.StartAsync(1, GatewayTestOptions.Create("http://127.0.0.1:9"));
        var db = cluster.Database;

        // As an earlier version stored them: Zendesk's requester 77 (acme has one Zendesk connection) and Chatwoot's
        // contact 78 (acme has two Chatwoot connections: which one it came from is unknown).
        await db.ExecuteAsync("INSERT INTO customer_identities (tenant_id, provider, external_id, customer_id) VALUES ('acme', 'zendesk', '77', 'cus_legacyzendesk'), ('acme', 'chatwoot', '78', 'cus_legacychatwoot')");
        await cluster.AddSiloAsync(); // a silo starting on the upgraded version

        Assert.Equal("zendesk@zd1", await db.ScalarAsync<string>("SELECT provider FROM customer_identities WHERE customer_id = 'cus_legacyzendesk'"));
        Assert.Equal("chatwoot", await db.ScalarAsync<string>("SELECT provider FROM customer_identities WHERE customer_id = 'cus_legacychatwoot'"));

        // The requester's next webhook reaches the customer it always had.
        var body = Payloads.Zendesk("evt-legacy", 9001, 77, "Hello again");
        using var client = cluster.Silos[^1].CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/webhooks/zendesk/zd1") { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
        foreach (var (name, value) in Signing.Zendesk(body, DateTimeOffset.UtcNow))
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        (await client.SendAsync(request)).EnsureSuccessStatusCode();
        client.DefaultRequestHeaders.Authorization = new("Bearer", GatewayTestOptions.AcmeAgent);
        var delivered = await Eventually.TrueAsync(async () =>
        {
            using var response = await client.GetAsync("/v1/customers/zendesk:77/context");
            return response.IsSuccessStatusCode
                   && (await response.Content.ReadFromJsonAsync<CustomerContext>(GatewayCluster.Json))! is { CustomerId: "cus_legacyzendesk", Stats.Interactions: 1 };
        }, TimeSpan.FromSeconds(20));
        Assert.True(delivered, "the requester's webhook did not reach their customer");
    }
}
