namespace CustomerGrains.Grains;

/// <summary>Who says a turn of a chat prompt.</summary>
public enum PromptRole
{
    System,
    User,
    Assistant,
}

/// <summary>One turn of a chat prompt.</summary>
[GenerateSerializer, Immutable, Alias("cg.PromptMessage")]
public sealed record PromptMessage([property: Id(0)] PromptRole Role, [property: Id(1)] string Content);

/// <summary>A text generation request to a loaded model (sampling as in Hugging Face: temperature 0 is greedy).</summary>
/// <param name="Prompt">Raw text to continue; ignored when <paramref name="Messages"/> are given.</param>
/// <param name="Deadline">If the request is still queued at this moment it is rejected, not run late.</param>
/// <param name="Messages">A chat prompt: the model renders it in its own chat format (an ONNX model's, or the model
/// server's), with special-token markers removed from the turns' text.</param>
[GenerateSerializer, Immutable, Alias("cg.InferenceRequest")]
public sealed record InferenceRequest(
    [property: Id(0)] string Prompt,
    [property: Id(1)] int MaxNewTokens = 128,
    [property: Id(2)] float Temperature = 0,
    [property: Id(3)] int TopK = 0,
    [property: Id(4)] float TopP = 1,
    [property: Id(5)] float RepetitionPenalty = 1,
    [property: Id(6)] int? Seed = null,
    [property: Id(7)] IReadOnlyList<string>? StopStrings = null,
    [property: Id(8)] bool Background = false,
    [property: Id(9)] DateTimeOffset? Deadline = null,
    [property: Id(10)] string? Tenant = null,
    [property: Id(11)] IReadOnlyList<PromptMessage>? Messages = null);

/// <param name="FinishReason">endOfSequence, length or stopString.</param>
[GenerateSerializer, Immutable, Alias("cg.InferenceResult")]
public sealed record InferenceResult([property: Id(0)] string Text, [property: Id(1)] int Tokens, [property: Id(2)] string FinishReason, [property: Id(3)] string Model, [property: Id(4)] string ExecutionProvider, [property: Id(5)] double QueuedMs, [property: Id(6)] double TotalMs);

/// <summary>How many tokens a text is to a decoder model, and how many its context holds (prompt and reply).</summary>
[GenerateSerializer, Immutable, Alias("cg.TokenCount")]
public sealed record TokenCount([property: Id(0)] int Tokens, [property: Id(1)] int Context);

/// <summary>
/// A model (key: its name in configuration, e.g. "default"): a decoder's generation pool or an encoder's embedder,
/// as a stateless worker: every silo serves it from its own, so a call never leaves the caller's silo.
/// </summary>
[Alias("cg.IInferenceGrain")]
public interface IInferenceGrain : IGrainWithStringKey
{
    /// <summary>Interleaved: calls wait in the pool, which batches them, not one by one in the grain's mailbox.</summary>
    [AlwaysInterleave]
    [Alias("GenerateAsync")]
    Task<InferenceResult> GenerateAsync(InferenceRequest request, CancellationToken cancellationToken = default);

    /// <summary>The generated text in pieces as the model produces them (whole characters only); the pieces joined are
    /// what <see cref="GenerateAsync"/> would return.</summary>
    [AlwaysInterleave]
    [Alias("StreamAsync")]
    IAsyncEnumerable<string> StreamAsync(InferenceRequest request, CancellationToken cancellationToken = default);

    /// <summary>Counts <paramref name="text"/>'s tokens with a decoder model's tokenizer, so a prompt can be fitted to
    /// its context before it is sent.</summary>
    [AlwaysInterleave]
    [Alias("CountTokensAsync")]
    Task<TokenCount> CountTokensAsync(string text);

    /// <summary>Counts a chat prompt's tokens as the model will see it (rendered in its chat format; estimated for a
    /// model server, whose tokenizer is not known here), with the context it must fit.</summary>
    [AlwaysInterleave]
    [Alias("CountPromptAsync")]
    Task<TokenCount> CountPromptAsync(IReadOnlyList<PromptMessage> messages);

    /// <summary>Unit-length embeddings of <paramref name="texts"/> (in order) from an encoder model: their dot product
    /// is their cosine similarity.</summary>
    [AlwaysInterleave]
    [Alias("EmbedAsync")]
    Task<float[][]> EmbedAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken = default);
}
