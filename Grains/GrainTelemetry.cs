using System.Diagnostics.Metrics;

namespace CustomerGrains.Grains;

/// <summary>The grains' own metrics (meter <see cref="Name"/>): suggestions and the knowledge base's question flow.</summary>
public static class GrainTelemetry
{
    public const string Name = "CustomerGrains.Grains";

    private static readonly Meter Meter = new(Name);

    /// <summary>A suggestion request from start to final record, with <c>degraded</c> (true: retrieval only) and
    /// <c>streamed</c>; the degraded share is the degraded count over all.</summary>
    public static readonly Histogram<double> SuggestionDuration = Meter.CreateHistogram<double>(
        "customergrains.suggestion.duration", "s", "Reply suggestion requests, from start to the final record",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10] });

    /// <summary>Questions asked, with <c>answered</c> (true: a confident answer).</summary>
    public static readonly Counter<long> KnowledgeAnswers = Meter.CreateCounter<long>(
        "customergrains.kb.questions", "{question}", "Knowledge-base questions asked");

    /// <summary>Questions escalated to seniors.</summary>
    public static readonly Counter<long> KnowledgeEscalations = Meter.CreateCounter<long>(
        "customergrains.kb.escalations", "{question}", "Knowledge-base questions escalated to seniors");
}
