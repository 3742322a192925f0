namespace CustomerGrains.Grains;

/// <summary>PostgreSQL, the system of record, cannot be reached: the caller may retry later (HTTP 503).</summary>
[GenerateSerializer, Alias("cg.StorageUnavailableException")]
public sealed class StorageUnavailableException : Exception
{
    public StorageUnavailableException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
