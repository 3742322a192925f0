using CustomerGrains.Inference;
using CustomerGrains.Inference.Generation;

namespace CustomerGrains.Grains;

/// <summary>The face of a model's pool to other grains: a stateless worker, so a call is served by the caller's own silo.
/// The pool batches across all callers; this grain only translates.</summary>
[StatelessWorker(1)] // one per silo: its calls interleave (the pool batches them), and a streamed reply's enumerator lives in it
[GrainType("inference")]
public sealed class InferenceGrain(InferenceHost host, IEnumerable<IInferenceObserver> observers) : Grain, IInferenceGrain
{
    public async Task<InferenceResult> GenerateAsync(InferenceRequest request, CancellationToken cancellationToken = default)
    {
        var pool = host.Pool(this.GetPrimaryKeyString());
        await ObservePromptAsync(request);
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
        var pool = host.Pool(this.GetPrimaryKeyString());
        await ObservePromptAsync(request);
        await foreach (var piece in pool.StreamAsync(ToGeneration(request), cancellationToken))
        {
            yield return piece;
        }
    }

    private async Task ObservePromptAsync(InferenceRequest request)
    {
        foreach (var observer in observers)
        {
            await observer.OnPromptAsync(this.GetPrimaryKeyString(), request.Prompt);
        }
    }

    public Task<TokenCount> CountTokensAsync(string text)
    {
        var model = host.Pool(this.GetPrimaryKeyString()).Model;
        return Task.FromResult(new TokenCount(model.Tokenizer.Encode(text).Length, model.Config.MaxPositions));
    }

    private static GenerationRequest ToGeneration(InferenceRequest request) => new(
        request.Prompt,
        request.MaxNewTokens,
        new SamplingOptions(request.Temperature, request.TopK, request.TopP, request.RepetitionPenalty, request.Seed),
        request.StopStrings,
        request.Background ? RequestPriority.Background : RequestPriority.Interactive,
        request.Deadline,
        request.Tenant);

    public Task<float[][]> EmbedAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken = default) =>
        host.Embedder(this.GetPrimaryKeyString()).EmbedAsync(texts).WaitAsync(cancellationToken);
}
