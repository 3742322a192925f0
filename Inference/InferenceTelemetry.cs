using System.Diagnostics.Metrics;
using CustomerGrains.Inference.Generation;

namespace CustomerGrains.Inference;

/// <summary>
/// The inference pools' metrics (meter <see cref="Name"/>), each with the attribute <c>gen_ai.request.model</c> (the
/// configured model name, as OpenTelemetry's generative-AI conventions name it): queue depth and running sequences,
/// tokens generated (their rate is tokens/s), sequences per step, and requests refused (queue full) or stopped at
/// their deadline.
/// </summary>
public static class InferenceTelemetry
{
    public const string Name = "CustomerGrains.Inference";
    public const string ModelAttribute = "gen_ai.request.model";

    private static readonly Meter Meter = new(Name);
    private static readonly Lock PoolsLock = new();
    private static readonly Dictionary<InferencePool, string> Pools = [];

    public static readonly Counter<long> Tokens = Meter.CreateCounter<long>(
        "customergrains.inference.tokens", "{token}", "Tokens generated (prefill excluded)");

    public static readonly Histogram<int> BatchSize = Meter.CreateHistogram<int>(
        "customergrains.inference.batch.size", "{sequence}", "Sequences advanced together per decode step",
        advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128] });

    static InferenceTelemetry()
    {
        Meter.CreateObservableGauge("customergrains.inference.queue.depth", () => Observe(s => s.Queued), "{request}", "Requests waiting for a place in the batch");
        Meter.CreateObservableGauge("customergrains.inference.running", () => Observe(s => s.Running), "{request}", "Requests being generated");
        Meter.CreateObservableCounter("customergrains.inference.rejected", ObserveRejections, "{request}",
            "Requests refused because the queue was full (reason queue-full) or stopped at their deadline (reason deadline)");
    }

    /// <summary>Reports <paramref name="pool"/> under <paramref name="model"/> until it is removed.</summary>
    public static void Add(InferencePool pool, string model)
    {
        lock (PoolsLock)
        {
            Pools[pool] = model;
        }
    }

    public static void Remove(InferencePool pool)
    {
        lock (PoolsLock)
        {
            Pools.Remove(pool);
        }
    }

    private static List<(PoolStats Stats, string Model)> Snapshot()
    {
        lock (PoolsLock)
        {
            return Pools.Select(p => (p.Key.Stats, p.Value)).ToList();
        }
    }

    private static IEnumerable<Measurement<int>> Observe(Func<PoolStats, int> value) =>
        Snapshot().Select(p => new Measurement<int>(value(p.Stats), new KeyValuePair<string, object?>(ModelAttribute, p.Model)));

    private static IEnumerable<Measurement<long>> ObserveRejections() =>
        Snapshot().SelectMany(p => new[]
        {
            new Measurement<long>(p.Stats.Rejected, new(ModelAttribute, p.Model), new("reason", "queue-full")),
            new Measurement<long>(p.Stats.Expired, new(ModelAttribute, p.Model), new("reason", "deadline")),
        });
}
