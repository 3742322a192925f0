namespace CustomerGrains.Runtime;

/// <summary>The identity of one grain: its type name (see <see cref="GrainTypeAttribute"/>) and key.</summary>
public readonly record struct GrainId(string Type, string Key)
{
    public override string ToString() => Type + "/" + Key;
}
