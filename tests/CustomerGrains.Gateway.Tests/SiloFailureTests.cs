using System.Collections.Concurrent;
using System.Net;
using System.Text;
using CustomerGrains.Runtime;
using CustomerGrains.Testing;

namespace CustomerGrains.Gateway.Tests;

public sealed class SiloFailureTests
{
    [Fact]
    public async Task Killing_a_silo_that_owns_customers_during_500_webhooks_loses_no_acknowledged_event()
    {
        await using var hubSpot = await FakeHubSpot.StartAsync();
        await using var cluster = await TestCluster.StartAsync(3, GatewayCluster.Options(hubSpot.BaseUrl));
        var victim = cluster.Silos[2];
        var clients = cluster.Silos.Select(s => s.CreateClient()).ToArray();
        var deliveries = new ConcurrentQueue<(int Customer, int Message)>(
            Enumerable.Range(0, 500).Select(i => (Customer: i % 50, Message: i)).OrderBy(_ => Random.Shared.Next()));
        var acknowledged = new ConcurrentBag<(int Customer, int Message)>();
        var killed = 0;

        var senders = Enumerable.Range(0, 32).Select(sender => Task.Run(async () =>
        {
            while (deliveries.TryDequeue(out var delivery))
            {
                var body = Payloads.Standard($"kill-{delivery.Customer}", $"m-{delivery.Message}", $"message {delivery.Message}");
                using var request = new HttpRequestMessage(HttpMethod.Post, "/webhooks/standard/crm1") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
                foreach (var (name, value) in Signing.Standard(body, $"wh-kill-{delivery.Message}", DateTimeOffset.UtcNow))
                {
                    request.Headers.TryAddWithoutValidation(name, value);
                }

                try
                {
                    using var response = await clients[delivery.Message % 3].SendAsync(request);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        acknowledged.Add(delivery);
                    }
                }
                catch (HttpRequestException)
                {
                    // sent to the killed silo: never acknowledged, so the CRM would retry it
                }

                if (acknowledged.Count >= 150 && Interlocked.Exchange(ref killed, 1) == 0)
                {
                    // Customers appear as deliveries (asynchronous to the acknowledgements) resolve them; wait until
                    // one the victim owns has, so that the kill hits customers.
                    Assert.True(
                        await Eventually.TrueAsync(() => OwnsSomeCustomerAsync(cluster, victim), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(20)),
                        "the victim owns none of the customers seen so far");
                    await cluster.KillSiloAsync(victim);
                }
            }
        })).ToList();
        await Task.WhenAll(senders);
        Assert.Equal(1, killed);
        Assert.True(acknowledged.Count >= 300, $"only {acknowledged.Count} of 500 deliveries were acknowledged");

        // Rows the victim acknowledged but had not delivered are re-delivered once its claims expire (12 s here).
        var expected = acknowledged.Select(a => $"m-{a.Message}").ToHashSet();
        var delivered = await Eventually.TrueAsync(
            async () => await cluster.Database.ScalarAsync<long>("SELECT count(*) FROM customer_interactions WHERE event_id = ANY($1)", new object[] { expected.ToArray() }) == expected.Count,
            TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(250));
        Assert.True(delivered, $"{await cluster.Database.ScalarAsync<long>("SELECT count(*) FROM customer_interactions WHERE event_id = ANY($1)", new object[] { expected.ToArray() })} of {expected.Count} acknowledged events reached a customer");

        // Exactly once: the history key allows no duplicate, and each customer's history holds its own events.
        var gateway = cluster.Silos[0].CreateClient();
        gateway.DefaultRequestHeaders.Authorization = new("Bearer", GatewayCluster.AcmeAgent);
        foreach (var customer in acknowledged.GroupBy(a => a.Customer))
        {
            var events = await cluster.Database.ScalarAsync<string[]>(
                "SELECT array_agg(i.event_id) FROM customer_interactions i JOIN customer_identities c ON c.tenant_id = i.tenant_id AND c.customer_id = i.customer_id WHERE c.provider = 'standard' AND c.external_id = $1",
                $"kill-{customer.Key}");
            Assert.Equal(events!.Length, events.Distinct().Count());
            Assert.Subset(events.ToHashSet(), customer.Select(a => $"m-{a.Message}").ToHashSet());
            var context = await gateway.GetStringAsync($"/v1/customers/standard:kill-{customer.Key}/context");
            Assert.Contains($"\"interactions\":{events.Length},", context, StringComparison.Ordinal);
        }
    }

    private static async Task<bool> OwnsSomeCustomerAsync(TestCluster cluster, TestSilo victim)
    {
        var customers = await cluster.Database.ScalarAsync<string[]>("SELECT array_agg(DISTINCT customer_id) FROM customer_identities") ?? [];
        var view = cluster.Silos[0].Membership.View;
        return customers.Any(c => view.GetOwner(new GrainId("customer", $"acme/{c}"))?.SiloId == victim.SiloId);
    }
}
