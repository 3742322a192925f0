using System.Collections.Concurrent;
using Microsoft.Extensions.Configuration;

namespace CustomerGrains.Grains;

/// <summary>
/// One segment rule: every condition set must hold; a rule with none matches everyone. Rules are tried in order
/// and the first match names the segment.
/// </summary>
public sealed class SegmentRule
{
    public string Name { get; set; } = "";

    public int? MinInteractions { get; set; }

    public int? MinInteractionsLast30Days { get; set; }

    /// <summary>At least this many days since the last interaction (recency, for at-risk).</summary>
    public double? MinDaysSinceLastSeen { get; set; }

    public double? MaxDaysSinceLastSeen { get; set; }

    /// <summary>From the <c>lifetime_value</c> attribute the CRM sends.</summary>
    public decimal? MinLifetimeValue { get; set; }

    /// <summary>Average sentiment of inbound messages, when the CRM sends sentiment (-1..1).</summary>
    public double? MaxAverageSentiment { get; set; }

    /// <summary>Profile attributes that must have these values (case-insensitive).</summary>
    public Dictionary<string, string> Attributes { get; set; } = [];

    /// <summary>The rule's conditions in words, as an agent reads why a customer is in the segment.</summary>
    public string Describe()
    {
        var conditions = new List<string>();
        Add(MinInteractions, v => $"at least {v} interactions");
        Add(MinInteractionsLast30Days, v => $"at least {v} interactions in the last 30 days");
        Add(MinDaysSinceLastSeen, v => $"not seen for at least {v} days");
        Add(MaxDaysSinceLastSeen, v => $"seen within the last {v} days");
        Add(MinLifetimeValue, v => $"lifetime value at least {v}");
        Add(MaxAverageSentiment, v => $"average sentiment at most {v}");
        conditions.AddRange(Attributes.Select(a => $"{a.Key} is {a.Value}"));
        return conditions.Count == 0 ? "no other segment's rule matched" : string.Join(", ", conditions);

        void Add<T>(T? value, Func<T, string> text)
            where T : struct, IFormattable
        {
            if (value is { } v)
            {
                conditions.Add(text(v));
            }
        }
    }

    public bool Matches(CustomerStats stats, IReadOnlyDictionary<string, string> attributes, DateTimeOffset now)
    {
        var daysSince = stats.LastSeen is { } last ? (now - last).TotalDays : (double?)null;
        return (MinInteractions is null || stats.Interactions >= MinInteractions)
            && (MinInteractionsLast30Days is null || stats.InteractionsLast30Days >= MinInteractionsLast30Days)
            && (MinDaysSinceLastSeen is null || daysSince >= MinDaysSinceLastSeen)
            && (MaxDaysSinceLastSeen is null || daysSince <= MaxDaysSinceLastSeen)
            && (MinLifetimeValue is null || stats.LifetimeValue >= MinLifetimeValue)
            && (MaxAverageSentiment is null || stats.AverageSentiment <= MaxAverageSentiment)
            && Attributes.All(a => attributes.TryGetValue(a.Key, out var value) && string.Equals(value, a.Value, StringComparison.OrdinalIgnoreCase));
    }
}

/// <summary>Each tenant's segment rules (<c>Tenants:{id}:Segments</c>), or the defaults: vip, at-risk, active, new.</summary>
public sealed class SegmentCatalog(IConfiguration configuration)
{
    public const string Fallback = "new";

    public static readonly IReadOnlyList<SegmentRule> Defaults =
    [
        new() { Name = "vip", MinLifetimeValue = 1000 },
        new() { Name = "vip", Attributes = { ["vip"] = "true" } },
        new() { Name = "at-risk", MinInteractions = 3, MinDaysSinceLastSeen = 30 },
        new() { Name = "at-risk", MaxAverageSentiment = -0.3 },
        new() { Name = "active", MinInteractionsLast30Days = 2 },
        new() { Name = "new" },
    ];

    private readonly ConcurrentDictionary<string, IReadOnlyList<SegmentRule>> _rules = new();

    public string Classify(string tenantId, CustomerStats stats, IReadOnlyDictionary<string, string> attributes, DateTimeOffset now) =>
        Explain(tenantId, stats, attributes, now).Segment;

    /// <summary>The customer's segment, and the conditions of the rule that put them there.</summary>
    public (string Segment, string Reason) Explain(string tenantId, CustomerStats stats, IReadOnlyDictionary<string, string> attributes, DateTimeOffset now) =>
        RulesOf(tenantId).FirstOrDefault(rule => rule.Matches(stats, attributes, now)) is { } rule
            ? (rule.Name, rule.Describe())
            : (Fallback, "no segment's rule matched");

    public IReadOnlyList<SegmentRule> RulesOf(string tenantId) => _rules.GetOrAdd(tenantId, id =>
    {
        var configured = configuration.GetSection($"Tenants:{id}:Segments").Get<List<SegmentRule>>();
        return configured is { Count: > 0 } ? configured : Defaults;
    });
}
