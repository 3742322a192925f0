using System.Collections.Concurrent;
using System.Diagnostics;

namespace CustomerGrains.Gateway.Tests;

/// <summary>What operators watch: Prometheus metrics at /metrics, and a webhook's trace carried into the grain.</summary>
public sealed class TelemetryTests(GatewayCluster gateway) : IClassFixture<GatewayCluster>
{
    private async Task<string> SendWebhookAsync(string customer, string text)
    {
        var body = Payloads.Standard(customer, Guid.NewGuid().ToString("N"), text);
        var headers = Signing.Standard(body, $"wh_{Guid.NewGuid():N}", DateTimeOffset.UtcNow);
        using var response = await gateway.PostWebhookAsync("/webhooks/standard/crm1", body, headers);
        response.EnsureSuccessStatusCode();
        return $"standard:{customer}";
    }

    [Fact]
    public async Task Prometheus_scrapes_the_projects_orleans_and_aspnet_metrics_at_metrics()
    {
        var customer = await SendWebhookAsync($"metrics-{Guid.NewGuid():N}", "Hello metrics");
        Assert.True(await Eventually.TrueAsync(async () => await gateway.ContextAsync(customer) is not null, TimeSpan.FromSeconds(10)));
        using var tampered = await gateway.PostWebhookAsync("/webhooks/standard/crm1", Payloads.Standard("x", "y", "z"),
            Signing.Standard(Payloads.Standard("x", "y", "other"), "wh_bad", DateTimeOffset.UtcNow));

        string metrics = "";
        Assert.True(await Eventually.TrueAsync(async () =>
        {
            using var client = gateway.Silo.CreateClient();
            metrics = await client.GetStringAsync("/metrics");
            return metrics.Contains("customergrains_inbox_delivery_duration_seconds_count{", StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(10)), "no delivery duration in /metrics");

        Assert.Matches("customergrains_webhook_acknowledged_total\\{[^}]*provider=\"standard\"[^}]*\\} [1-9]", metrics);
        Assert.Matches("customergrains_webhook_rejected_total\\{[^}]*reason=\"signature\"[^}]*\\} [1-9]", metrics);
        Assert.Contains("customergrains_inbox_backlog", metrics, StringComparison.Ordinal);
        Assert.Contains("http_server_request_duration_seconds", metrics, StringComparison.Ordinal); // ASP.NET Core
        Assert.Contains("orleans_", metrics, StringComparison.Ordinal);                             // Orleans' own meters
        Assert.Contains("dotnet_gc_", metrics, StringComparison.Ordinal);                           // the runtime
    }

    [Fact]
    public async Task A_webhooks_trace_follows_its_event_through_the_inbox_into_the_customer_grain()
    {
        // The CRM's side of the call: its trace goes out in the traceparent header, as an instrumented client sends it.
        using var crm = new Activity("crm sends a webhook").SetIdFormat(ActivityIdFormat.W3C).Start();
        var trace = crm.TraceId;
        var seen = new ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal) || source.Name.StartsWith("CustomerGrains", StringComparison.Ordinal),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (activity.TraceId == trace)
                {
                    seen.Add(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);

        await SendWebhookAsync($"traced-{Guid.NewGuid():N}", "Follow me");
        crm.Stop();

        Assert.True(await Eventually.TrueAsync(
            () => seen.Any(a => a.Source.Name == GatewayTelemetry.Name && a.OperationName == "inbox deliver")
                  && seen.Any(a => a.Source.Name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal) && a.DisplayName.Contains("AppendAsync", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(10)),
            "seen in the trace: " + string.Join(", ", seen.Select(a => $"{a.Source.Name}/{a.DisplayName}")));
    }

    [Fact]
    public async Task Traces_go_to_the_OTLP_endpoint_when_one_is_set()
    {
        await using var collector = await RecordingReceiver.StartAsync();
        var options = GatewayCluster.Options(gateway.HubSpot.BaseUrl);
        options.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.BaseUrl;
        options.Configuration["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
        await using var cluster = await TestCluster.StartAsync(1, options);
        var body = Payloads.Standard($"otlp-{Guid.NewGuid():N}", Guid.NewGuid().ToString("N"), "Trace me");
        using (var response = await GatewayCluster.PostWebhookAsync(cluster.Silos[0], "/webhooks/standard/crm1", body, Signing.Standard(body, $"wh_{Guid.NewGuid():N}", DateTimeOffset.UtcNow)))
        {
            response.EnsureSuccessStatusCode();
        }

        // A customer named by email in the path and in a search: the span keeps the route, not the address.
        using (var agent = cluster.Silos[0].CreateClient())
        {
            agent.DefaultRequestHeaders.Authorization = new("Bearer", GatewayCluster.AcmeAgent);
            using var byEmail = await agent.GetAsync("/v1/customers/email:trace.me@example.com/context");
            using var search = await agent.GetAsync("/v1/customers?query=trace.me%40example.com");
        }

        // Spans are sent in batches (every 5 s by default); the body is protobuf, where span names are plain UTF-8.
        Assert.True(
            await Eventually.TrueAsync(
                () => collector.Received.Any(r => r.Path == "/v1/traces" && r.Body.Contains("inbox deliver", StringComparison.Ordinal))
                      && collector.Received.Any(r => r.Path == "/v1/traces" && r.Body.Contains("/v1/customers/{id}/context", StringComparison.Ordinal)),
                TimeSpan.FromSeconds(30)),
            "received: " + string.Join(", ", collector.Received.Select(r => r.Path).Distinct()));
        Assert.DoesNotContain(collector.Received, r => r.Body.Contains("trace.me", StringComparison.Ordinal));
    }
}
