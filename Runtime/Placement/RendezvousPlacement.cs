using CustomerGrains.Runtime.Membership;

namespace CustomerGrains.Runtime.Placement;

/// <summary>
/// Rendezvous (highest random weight) hashing: a grain belongs to the active silo whose combined hash with
/// the grain is largest. Adding or removing one of N silos moves only the grains it wins or held, about 1/N,
/// and every silo with the same view computes the same owner without asking anyone.
/// </summary>
internal static class RendezvousPlacement
{
    /// <summary>The owner of <paramref name="grainId"/> among the active silos, skipping <paramref name="exclude"/>
    /// (a silo that is draining); null when no silo is active.</summary>
    public static SiloInfo? GetOwner(GrainId grainId, ClusterView view, SiloInfo? exclude = null)
    {
        var grainHash = StableHash.Of(grainId.Type, grainId.Key);
        SiloInfo? best = null;
        var bestScore = 0UL;
        foreach (var silo in view.Active)
        {
            if (ReferenceEquals(silo, exclude) || (exclude is not null && silo.SiloId == exclude.SiloId))
            {
                continue;
            }

            var score = StableHash.Mix(grainHash ^ silo.PlacementHash);
            if (best is null || score > bestScore)
            {
                best = silo;
                bestScore = score;
            }
        }

        return best;
    }
}
