namespace CustomerGrains.Grains;

/// <summary>The Orleans grain storage provider grain state goes to (ADO.NET on PostgreSQL, configured by the silo).</summary>
public static class GrainStorage
{
    public const string Name = "store";
}
