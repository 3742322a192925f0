using CustomerGrains.Gateway;
using CustomerGrains.Grains;
using CustomerGrains.Inference;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace CustomerGrains.Silo.Hosting;

/// <summary>
/// OpenTelemetry for the silo. Metrics: Orleans' meters, ASP.NET Core, HttpClient, Npgsql, the .NET runtime and the
/// project's own (<see cref="GatewayTelemetry"/>, <see cref="GrainTelemetry"/>, <see cref="InferenceTelemetry"/>),
/// scraped by Prometheus at /metrics. Traces: ASP.NET Core, HttpClient, Npgsql and Orleans' activity sources, with
/// Orleans propagating the trace through grain calls, so a webhook's trace follows its event into the customer grain.
/// Traces, and metrics and logs as well, go over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set; log lines carry the
/// trace and span ids of the request they belong to.
/// </summary>
public static class Telemetry
{
    public const string ServiceName = "customergrains";

    public static WebApplicationBuilder AddCustomerGrainsTelemetry(this WebApplicationBuilder builder)
    {
        builder.Logging.Configure(o => o.ActivityTrackingOptions = ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId);
        // The console prints the scopes (where the trace and span ids are) only with a named formatter: without one it
        // takes its options from ConsoleLoggerOptions' obsolete properties instead.
        builder.Services.Configure<ConsoleLoggerOptions>(o => o.FormatterName ??= ConsoleFormatterNames.Simple);
        builder.Services.Configure<SimpleConsoleFormatterOptions>(o => o.IncludeScopes = true);
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(ServiceName, serviceInstanceId: $"{Environment.MachineName}:{builder.Configuration["Silo:Port"] ?? "8080"}"))
            .WithMetrics(metrics => metrics
                .AddMeter("Microsoft.Orleans")
                .AddMeter(GatewayTelemetry.Name, GrainTelemetry.Name, InferenceTelemetry.Name)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddNpgsqlInstrumentation()
                .AddRuntimeInstrumentation()
                .AddPrometheusExporter());
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            // Traces only where they go somewhere: recorded for no exporter, the two activities of every grain call
            // cut local grain calls to a third (bench.sh runtime: 97-126k/s against 330-448k/s without).
            telemetry
                .WithTracing(tracing => tracing
                    .AddSource("Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application", GatewayTelemetry.Name)
                    .AddAspNetCoreInstrumentation(o =>
                    {
                        o.Filter = http => !http.Request.Path.StartsWithSegments("/metrics") && !http.Request.Path.StartsWithSegments("/health");
                        o.EnrichWithHttpResponse = Redact;
                    })
                    .AddHttpClientInstrumentation(o => o.EnrichWithHttpRequestMessage = (activity, request) =>
                        activity.SetTag("url.full", request.RequestUri?.GetLeftPart(UriPartial.Authority))) // vendors' paths name contacts too
                    .AddNpgsql())
                .UseOtlpExporter();
        }

        return builder;
    }

    /// <summary>A request's span keeps its route, not its path: paths name customers by email or phone
    /// (<c>/v1/customers/email:ann@example.com</c>), and queries search by them.</summary>
    private static void Redact(System.Diagnostics.Activity activity, Microsoft.AspNetCore.Http.HttpResponse response)
    {
        var route = (response.HttpContext.GetEndpoint() as Microsoft.AspNetCore.Routing.RouteEndpoint)?.RoutePattern.RawText;
        activity.SetTag("url.path", route ?? "(no route)");
        activity.SetTag("url.query", null);
        activity.SetTag("url.full", null);
    }
}
