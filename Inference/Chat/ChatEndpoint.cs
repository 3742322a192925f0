using System.ClientModel;
using System.ClientModel.Primitives;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using OpenAI;

namespace CustomerGrains.Inference.Chat;

/// <summary>What a model server answered: the text, why it stopped (<c>endOfSequence</c> or <c>length</c>), and the
/// tokens it wrote where it says.</summary>
public sealed record EndpointResult(string Text, string FinishReason, int Tokens);

/// <summary>A model server refused or failed a request (its HTTP status and message), or could not be reached.</summary>
public sealed class ModelEndpointException(string message, Exception? inner = null) : InvalidOperationException(message, inner);

/// <summary>How to sample, as a chat-completions request carries it.</summary>
public sealed record EndpointSampling(int MaxNewTokens, float Temperature, float TopP, int? Seed, IReadOnlyList<string>? StopStrings);

/// <summary>
/// A model behind an OpenAI-compatible chat-completions server (vLLM, llama.cpp's server, Ollama, a hosted API), through
/// Microsoft.Extensions.AI's <see cref="IChatClient"/> over the OpenAI client: <c>Inference:Models:X:Endpoint</c> (the
/// server's base URL, e.g. <c>http://vllm:8000/v1</c>), <c>ApiKey</c>, <c>ModelId</c> (the server's name for it). The
/// server batches; this only translates. A request's deadline cancels it; nothing is retried (the caller falls back
/// to retrieved answers rather than wait).
/// </summary>
public sealed class ChatEndpoint : IDisposable
{
    private readonly IChatClient _client;

    public ChatEndpoint(string name, ModelOptions options)
    {
        Name = name;
        Endpoint = new Uri(options.Endpoint!);
        ModelId = options.ModelId ?? name;
        ContextTokens = options.ContextTokens;
        var client = new OpenAI.Chat.ChatClient(
            ModelId,
            new ApiKeyCredential(string.IsNullOrEmpty(options.ApiKey) ? "none" : options.ApiKey), // local servers ask for none
            new OpenAIClientOptions { Endpoint = Endpoint, RetryPolicy = new ClientRetryPolicy(maxRetries: 0), NetworkTimeout = TimeSpan.FromMinutes(2) });
        _client = client.AsIChatClient();
    }

    public string Name { get; }

    public Uri Endpoint { get; }

    public string ModelId { get; }

    /// <summary>The server model's context in tokens (<c>Inference:Models:X:ContextTokens</c>): prompts are fitted to it.</summary>
    public int ContextTokens { get; }

    /// <summary>A prompt's size in tokens, estimated without the server's tokenizer: a token per three characters (real
    /// tokenizers average three to four for English, fewer for Russian and Ukrainian), plus a few per turn for its
    /// markers. An estimate on the high side keeps fitted prompts inside the context.</summary>
    public static int EstimateTokens(IReadOnlyList<ChatTurn> turns) => turns.Sum(t => (t.Content.Length + 2) / 3 + 4) + 3;

    public async Task<EndpointResult> GenerateAsync(IReadOnlyList<ChatTurn> turns, EndpointSampling sampling, DateTimeOffset? deadline, CancellationToken cancellationToken)
    {
        using var limit = Limit(deadline, cancellationToken);
        try
        {
            var response = await _client.GetResponseAsync(Messages(turns), Options(sampling), limit.Token);
            return new EndpointResult(
                response.Text,
                response.FinishReason == ChatFinishReason.Length ? "length" : "endOfSequence",
                (int)(response.Usage?.OutputTokenCount ?? 0));
        }
        catch (Exception ex) when (Translate(ex, limit, cancellationToken) is { } translated)
        {
            throw translated;
        }
    }

    public async IAsyncEnumerable<string> StreamAsync(
        IReadOnlyList<ChatTurn> turns, EndpointSampling sampling, DateTimeOffset? deadline, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var limit = Limit(deadline, cancellationToken);
        await using var updates = _client.GetStreamingResponseAsync(Messages(turns), Options(sampling), limit.Token).GetAsyncEnumerator(limit.Token);
        while (true)
        {
            string text;
            try
            {
                if (!await updates.MoveNextAsync())
                {
                    yield break;
                }

                text = updates.Current.Text;
            }
            catch (Exception ex) when (Translate(ex, limit, cancellationToken) is { } translated)
            {
                throw translated;
            }

            if (text.Length > 0)
            {
                yield return text;
            }
        }
    }

    private static CancellationTokenSource Limit(DateTimeOffset? deadline, CancellationToken cancellationToken)
    {
        var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (deadline is { } until)
        {
            limit.CancelAfter(until - DateTimeOffset.UtcNow is var left && left > TimeSpan.Zero ? left : TimeSpan.Zero);
        }

        return limit;
    }

    /// <summary>The server's refusal or silence as this project's exceptions; null for the caller's own cancellation.</summary>
    private Exception? Translate(Exception ex, CancellationTokenSource limit, CancellationToken cancellationToken) => ex switch
    {
        OperationCanceledException when cancellationToken.IsCancellationRequested => null,
        OperationCanceledException when limit.IsCancellationRequested => new TimeoutException($"Model server {Endpoint} did not answer model '{ModelId}' before the deadline."),
        ClientResultException result => new ModelEndpointException($"Model server {Endpoint} answered {result.Status} for model '{ModelId}': {result.Message}", ex),
        HttpRequestException or IOException => new ModelEndpointException($"Model server {Endpoint} could not be reached: {ex.Message}", ex),
        _ => null,
    };

    private static List<ChatMessage> Messages(IReadOnlyList<ChatTurn> turns) =>
        [.. turns.Select(t => new ChatMessage(t.Role switch { ChatTurnRole.System => ChatRole.System, ChatTurnRole.User => ChatRole.User, _ => ChatRole.Assistant }, ChatMl.WithoutMarkers(t.Content)))];

    private ChatOptions Options(EndpointSampling sampling) => new()
    {
        ModelId = ModelId,
        MaxOutputTokens = sampling.MaxNewTokens,
        Temperature = sampling.Temperature,
        TopP = sampling.TopP,
        Seed = sampling.Seed,
        StopSequences = sampling.StopStrings is { Count: > 0 } stops ? [.. stops] : null,
    };

    public void Dispose() => _client.Dispose();
}
