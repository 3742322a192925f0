namespace CustomerGrains.Grains;

/// <summary>What a request names is not there (a customer, an entry, a question, a suggestion, a reply, a connection);
/// the API answers 404 with the message.</summary>
[GenerateSerializer, Alias("cg.NotFoundException")]
public sealed class NotFoundException : Exception
{
    public NotFoundException(string message)
        : base(message)
    {
    }
}

/// <summary>The state of things refuses the request (answered already, promoted already, a customer who asked not to be
/// contacted); the API answers 409 with the message.</summary>
[GenerateSerializer, Alias("cg.ConflictException")]
public sealed class ConflictException : Exception
{
    public ConflictException(string message)
        : base(message)
    {
    }
}
