using CustomerGrains.Inference;
using CustomerGrains.Inference.Chat;
using CustomerGrains.Inference.Generation;

namespace CustomerGrains.Grains;

/// <summary>The face of a model to other grains: its pool on this silo, or the model server configured for it (a chat
/// endpoint); a stateless worker, so a call is served by the caller's own silo. The pool (or the server) batches across
/// all callers; this grain only translates.</summary>
[StatelessWorker(1)] // one per silo: its calls interleave (the pool batches them), and a streamed reply's enumerator lives in it
[GrainType("inference")]
public sealed class InferenceGrain(InferenceHost host, IEnumerable<IInferenceObserver> observers) : Grain, IInferenceGrain
{
    public async Task<InferenceResult> GenerateAsync(InferenceRequest request, CancellationToken cancellationToken = default)
    {
        await ObservePromptAsync(request);
        if (host.TryGetEndpoint(this.GetPrimaryKeyString(), out var endpoint))
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var answer = await endpoint.GenerateAsync(TurnsOf(request), SamplingOf(request), request.Deadline, cancellationToken);
            var total = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            return new InferenceResult(answer.Text, answer.Tokens, answer.FinishReason, this.GetPrimaryKeyString(), "remote", 0, total);
        }

        var pool = host.Pool(this.GetPrimaryKeyString());
        var result = await pool.GenerateAsync(ToGeneration(request), cancellationToken);
        return new InferenceResult(
            result.Text,
            result.Tokens.Count,
            System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName(result.FinishReason.ToString()),
            this.GetPrimaryKeyString(),
            pool.Model.Session.Provider,
            result.Queued.TotalMilliseconds,
            result.Total.TotalMilliseconds);
    }

    public async IAsyncEnumerable<string> StreamAsync(InferenceRequest request, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await ObservePromptAsync(request);
        if (host.TryGetEndpoint(this.GetPrimaryKeyString(), out var endpoint))
        {
            await foreach (var piece in endpoint.StreamAsync(TurnsOf(request), SamplingOf(request), request.Deadline, cancellationToken))
            {
                yield return piece;
            }

            yield break;
        }

        var pool = host.Pool(this.GetPrimaryKeyString());
        await foreach (var piece in pool.StreamAsync(ToGeneration(request), cancellationToken))
        {
            yield return piece;
        }
    }

    /// <summary>Tells the observers the prompt as text: a chat prompt as the model reads it (rendered in ChatML for a
    /// model server, which renders it itself).</summary>
    private async Task ObservePromptAsync(InferenceRequest request)
    {
        foreach (var observer in observers)
        {
            await observer.OnPromptAsync(this.GetPrimaryKeyString(), PromptOf(request));
        }
    }

    public Task<TokenCount> CountTokensAsync(string text)
    {
        if (host.TryGetEndpoint(this.GetPrimaryKeyString(), out var endpoint))
        {
            return Task.FromResult(new TokenCount(ChatEndpoint.EstimateTokens([new ChatTurn(ChatTurnRole.User, text)]), endpoint.ContextTokens));
        }

        var model = host.Pool(this.GetPrimaryKeyString()).Model;
        return Task.FromResult(new TokenCount(model.EncodePrompt(text).Length, model.Config.MaxPositions));
    }

    public Task<TokenCount> CountPromptAsync(IReadOnlyList<PromptMessage> messages)
    {
        var turns = TurnsOf(messages);
        return host.TryGetEndpoint(this.GetPrimaryKeyString(), out var endpoint)
            ? Task.FromResult(new TokenCount(ChatEndpoint.EstimateTokens(turns), endpoint.ContextTokens))
            : CountTokensAsync(host.Pool(this.GetPrimaryKeyString()).Model.RenderChat(turns));
    }

    private static List<ChatTurn> TurnsOf(IReadOnlyList<PromptMessage> messages) =>
        [.. messages.Select(m => new ChatTurn(m.Role switch { PromptRole.System => ChatTurnRole.System, PromptRole.User => ChatTurnRole.User, _ => ChatTurnRole.Assistant }, m.Content))];

    /// <summary>A chat prompt's turns; raw text as one user turn.</summary>
    private static List<ChatTurn> TurnsOf(InferenceRequest request) =>
        request.Messages is { } messages ? TurnsOf(messages) : [new ChatTurn(ChatTurnRole.User, request.Prompt)];

    /// <summary>The text an ONNX model continues: a chat prompt rendered in its own template (ChatML without one), or the
    /// raw prompt.</summary>
    private string PromptOf(InferenceRequest request) =>
        request.Messages is not { } messages ? request.Prompt
        : host.TryGetEndpoint(this.GetPrimaryKeyString(), out _) ? ChatMl.Render(TurnsOf(messages))
        : host.Pool(this.GetPrimaryKeyString()).Model.RenderChat(TurnsOf(messages));

    private static EndpointSampling SamplingOf(InferenceRequest request) =>
        new(request.MaxNewTokens, request.Temperature, request.TopP, request.Seed, request.StopStrings?.Where(s => ChatMl.WithoutMarkers(s).Length > 0).ToList());

    private GenerationRequest ToGeneration(InferenceRequest request) => new(
        PromptOf(request),
        request.MaxNewTokens,
        new SamplingOptions(request.Temperature, request.TopK, request.TopP, request.RepetitionPenalty, request.Seed),
        request.StopStrings,
        request.Background ? RequestPriority.Background : RequestPriority.Interactive,
        request.Deadline,
        request.Tenant);

    public Task<float[][]> EmbedAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken = default) =>
        host.Embedder(this.GetPrimaryKeyString()).EmbedAsync(texts).WaitAsync(cancellationToken);
}
