namespace CustomerGrains.Runtime.Placement;

/// <summary>
/// A 64-bit hash that is the same in every process and on every machine (string.GetHashCode is randomised
/// per process, and System.IO.Hashing is not in this project's package registry): FNV-1a over the UTF-16
/// code units, finished with the SplitMix64 mixer so that nearby keys spread over the whole range.
/// </summary>
internal static class StableHash
{
    private const ulong FnvOffset = 14695981039346656037UL;
    private const ulong FnvPrime = 1099511628211UL;

    public static ulong Of(string type, string key)
    {
        var hash = Add(FnvOffset, type);
        hash = (hash ^ '/') * FnvPrime;
        return Mix(Add(hash, key));
    }

    public static ulong Of(string value) => Mix(Add(FnvOffset, value));

    /// <summary>SplitMix64's finaliser (Steele, Lea, Flood: "Fast splittable pseudorandom number generators", 2014).</summary>
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static ulong Add(ulong hash, string value)
    {
        foreach (var c in value)
        {
            hash = (hash ^ c) * FnvPrime;
        }

        return hash;
    }
}
