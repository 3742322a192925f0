using CustomerGrains.Runtime.Placement;

namespace CustomerGrains.Runtime.Membership;

/// <summary>A silo's status in the membership table.</summary>
public enum SiloStatus
{
    Joining,
    Active,
    ShuttingDown,
    Dead,
}

/// <summary>One row of the membership table as this silo last read it.</summary>
public sealed class SiloInfo
{
    public SiloInfo(string siloId, string name, Uri endpoint, SiloStatus status, DateTimeOffset heartbeatAt)
    {
        SiloId = siloId;
        Name = name;
        Endpoint = endpoint;
        Status = status;
        HeartbeatAt = heartbeatAt;
        PlacementHash = StableHash.Of(siloId);
        CallUri = new Uri(endpoint, "/_cluster/call");
    }

    /// <summary><c>{name}@{start generation}</c>: a restarted silo is a new member.</summary>
    public string SiloId { get; }

    public string Name { get; }

    /// <summary>The silo's cluster (HTTP/2) endpoint.</summary>
    public Uri Endpoint { get; }

    public SiloStatus Status { get; }

    public DateTimeOffset HeartbeatAt { get; }

    internal ulong PlacementHash { get; }

    internal Uri CallUri { get; }

    public override string ToString() => $"{SiloId} ({Status}) at {Endpoint}";
}

/// <summary>An immutable snapshot of the membership table: every change publishes a new one.</summary>
public sealed class ClusterView(long version, IReadOnlyList<SiloInfo> silos)
{
    public static readonly ClusterView Empty = new(0, []);

    public long Version { get; } = version;

    /// <summary>Every silo not dead.</summary>
    public IReadOnlyList<SiloInfo> Silos { get; } = silos;

    /// <summary>The silos grains are placed on.</summary>
    public SiloInfo[] Active { get; } = silos.Where(s => s.Status == SiloStatus.Active).OrderBy(s => s.SiloId, StringComparer.Ordinal).ToArray();

    /// <summary>The silo that owns <paramref name="grainId"/> in this view; null when no silo is active.</summary>
    public SiloInfo? GetOwner(GrainId grainId) => RendezvousPlacement.GetOwner(grainId, this);
}
