using System.Diagnostics;
using System.Net;
using System.Text;
using CustomerGrains.Testing;
using Npgsql;

namespace CustomerGrains.Benchmarks;

/// <summary>
/// Signed webhooks acknowledged (durably) per second by one silo at 32 concurrent senders; single-row INSERTs per
/// second into an equivalent table on the same PostgreSQL at the same concurrency (the ceiling); and the rate at which
/// events reach their customer grains, from the window's start until every acknowledged event is in its grain (so
/// delivery that falls behind the acknowledgements, and catches up after, counts the catching up).
/// </summary>
public static class IngestBenchmark
{
    private const int Senders = 32;
    private const int Customers = 1000;
    private static readonly TimeSpan Warmup = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan Measure = TimeSpan.FromSeconds(10);

    public static async Task<BenchmarkResult> RunAsync()
    {
        await using var hubSpot = await FakeHubSpot.StartAsync();
        var options = GatewayTestOptions.Create(hubSpot.BaseUrl);
        await using var cluster = await TestCluster.StartAsync(1, options);
        var silo = cluster.Silos[0];

        var pgRate = await InsertCeilingAsync(cluster.Database);

        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Senders, UseProxy = false }) { BaseAddress = silo.PublicUrl };
        var started = new Stopwatch();
        long appliedBefore = 0;
        var ackRate = await Throughput.MeasureAsync("acknowledged webhooks", Senders, async n =>
        {
            var body = Payloads.Standard($"bench-{n % Customers}", $"m-{n}", $"Message {n}: where is my order?");
            using var request = new HttpRequestMessage(HttpMethod.Post, "/webhooks/standard/crm1") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            foreach (var (name, value) in Signing.Standard(body, $"wh-{n}", DateTimeOffset.UtcNow))
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }

            using var response = await http.SendAsync(request);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw new InvalidOperationException($"Webhook answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            }
        }, Warmup, Measure, windowOpens: async () =>
        {
            appliedBefore = await cluster.Database.ScalarAsync<long>("SELECT count(*) FROM customer_interactions");
            started.Start();
        });
        var sent = await cluster.Database.ScalarAsync<long>("SELECT count(*) FROM inbox");

        // From the window's start until every stored event is in its customer's history.
        while (await cluster.Database.ScalarAsync<long>("SELECT count(*) FROM inbox WHERE status <> 'done'") > 0)
        {
            await Task.Delay(100);
        }

        var elapsed = started.Elapsed;
        var applied = await cluster.Database.ScalarAsync<long>("SELECT count(*) FROM customer_interactions");
        var appliedRate = (applied - appliedBefore) / elapsed.TotalSeconds;
        Console.WriteLine($"applied to grains     {appliedRate,10:N0} per s ({applied:N0} of {sent:N0} stored, all applied {elapsed.TotalSeconds:N1} s after the window opened)");
        return new BenchmarkResult("ingest")
            .Add("acked_per_s", ackRate)
            .Add("pg_insert_per_s", pgRate)
            .Add("applied_per_s", appliedRate)
            .Add("acked_vs_pg", ackRate / pgRate)
            .Add("applied_vs_acked", appliedRate / ackRate);
    }

    /// <summary>Single-row INSERTs (each its own transaction) into a table shaped like the inbox, 32 at a time.</summary>
    private static async Task<double> InsertCeilingAsync(TestDatabase database)
    {
        await database.ExecuteAsync("CREATE TABLE inbox_ceiling (LIKE inbox INCLUDING ALL)");
        // Npgsql's defaults, as every earlier figure of this ratio had: with the silo's pool settings (prepared, no reset
        // on return) the ceiling rises by about half again.
        await using var source = NpgsqlDataSource.Create(database.ConnectionString);
        var payload = "{\"identities\":[{\"provider\":\"standard\",\"externalId\":\"bench-1\"}],\"facts\":{},\"interaction\":{\"source\":\"standard:crm1\",\"eventId\":\"m-1\",\"channel\":\"email\",\"direction\":\"inbound\",\"text\":\"Message 1: where is my order?\",\"occurredAt\":\"2026-11-20T10:00:00+00:00\"}}";
        return await Throughput.MeasureAsync("PostgreSQL INSERTs", Senders, async n =>
        {
            await using var command = source.CreateCommand(
                "INSERT INTO inbox_ceiling (tenant_id, dedupe_key, provider, connection_id, identity_key, payload) VALUES ($1, $2, $3, $4, $5, $6::jsonb) ON CONFLICT DO NOTHING");
            command.Parameters.AddWithValue("acme");
            command.Parameters.AddWithValue($"standard:crm1:wh-{n}");
            command.Parameters.AddWithValue("standard");
            command.Parameters.AddWithValue("crm1");
            command.Parameters.AddWithValue($"standard:bench-{n % Customers}");
            command.Parameters.AddWithValue(payload);
            await command.ExecuteNonQueryAsync();
        }, Warmup, Measure);
    }
}
