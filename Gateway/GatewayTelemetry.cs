using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace CustomerGrains.Gateway;

/// <summary>
/// The gateway's own metrics (meter <see cref="Name"/>) and traces (activity source <see cref="Name"/>): webhooks
/// acknowledged and rejected, the inbox's backlog, and how long delivery into the customer grains takes. Exported by
/// the silo (Silo/Hosting/Telemetry.cs) at /metrics and over OTLP.
/// </summary>
public static class GatewayTelemetry
{
    public const string Name = "CustomerGrains.Gateway";

    private static readonly Meter Meter = new(Name);

    public static readonly ActivitySource Activities = new(Name);

    /// <summary>Seconds, as OpenTelemetry's conventions advise for HTTP durations, up to a minute (a backlog).</summary>
    private static readonly double[] DurationBuckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60];

    /// <summary>Deliveries stored in the inbox and answered 200, by <c>provider</c>.</summary>
    public static readonly Counter<long> WebhooksAcknowledged = Meter.CreateCounter<long>(
        "customergrains.webhook.acknowledged", "{delivery}", "Webhook deliveries stored in the inbox and acknowledged");

    /// <summary>Deliveries refused, by <c>provider</c> and <c>reason</c> (unknown-connection, signature, payload).</summary>
    /// <summary>Agents' replies the CRMs took, by <c>provider</c>.</summary>
    public static readonly Counter<long> RepliesSent = Meter.CreateCounter<long>(
        "customergrains.replies.sent", "{reply}", "Agents' replies the CRMs took");

    public static readonly Counter<long> WebhooksRejected = Meter.CreateCounter<long>(
        "customergrains.webhook.rejected", "{delivery}", "Webhook deliveries refused");

    /// <summary>From a webhook's acknowledgement to its event stored by the customer grain, by <c>provider</c>.</summary>
    public static readonly Histogram<double> DeliveryDuration = Meter.CreateHistogram<double>(
        "customergrains.inbox.delivery.duration", "s", "From a webhook event's acknowledgement to the customer grain storing it",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });

    private static long _backlog;
    private static double _oldestAge;

    static GatewayTelemetry()
    {
        Meter.CreateObservableGauge("customergrains.inbox.backlog", () => Volatile.Read(ref _backlog), "{event}",
            "Inbox events acknowledged and not yet delivered (every silo reports the whole inbox)");
        Meter.CreateObservableGauge("customergrains.inbox.oldest_age", () => Volatile.Read(ref _oldestAge), "s",
            "Age of the oldest undelivered inbox event");
    }

    /// <summary>The inbox as last read (<see cref="Inbox.InboxDispatcher"/> reads it every few seconds).</summary>
    public static void SetBacklog(long events, double oldestAgeSeconds)
    {
        Volatile.Write(ref _backlog, events);
        Volatile.Write(ref _oldestAge, oldestAgeSeconds);
    }
}
