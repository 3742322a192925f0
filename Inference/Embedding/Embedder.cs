using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace CustomerGrains.Inference.Embedding;

/// <summary>
/// One encoder's scheduler: texts from concurrent callers are embedded together, up to <c>maxBatch</c> per run, on one
/// dedicated thread. A full queue refuses at once; a failing run fails the requests in it, never the embedder.
/// </summary>
public sealed class Embedder : IAsyncDisposable
{
    private readonly Channel<Pending> _queue;
    private readonly int _maxBatch;
    private readonly ILogger _logger;
    private readonly Task _loop;

    public Embedder(EncoderModel model, int maxBatch, int maxQueue, ILogger logger)
    {
        Model = model;
        _maxBatch = maxBatch;
        _logger = logger;
        _queue = Channel.CreateBounded<Pending>(new BoundedChannelOptions(Math.Max(1, maxQueue)) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });
        _loop = Task.Factory.StartNew(RunAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    public EncoderModel Model { get; }

    /// <summary>Unit-length embeddings of <paramref name="texts"/>, in order.</summary>
    public Task<float[][]> EmbedAsync(IReadOnlyList<string> texts)
    {
        if (texts.Count == 0)
        {
            return Task.FromResult<float[][]>([]);
        }

        for (var i = 0; i < texts.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(texts[i]))
            {
                throw new ArgumentException($"Text {i} is empty; there is nothing to embed.");
            }
        }

        var pending = new Pending(texts);
        return _queue.Writer.TryWrite(pending)
            ? pending.Result.Task
            : Task.FromException<float[][]>(new Generation.PoolRejectedException(Generation.PoolRejectedException.QueueFull, "The embedding queue is full; try again later."));
    }

    private async Task RunAsync()
    {
        var batch = new List<Pending>();
        while (await _queue.Reader.WaitToReadAsync())
        {
            batch.Clear();
            var texts = 0;
            while (texts < _maxBatch && _queue.Reader.TryPeek(out var next) && (batch.Count == 0 || texts + next.Texts.Count <= _maxBatch))
            {
                _queue.Reader.TryRead(out _);
                batch.Add(next);
                texts += next.Texts.Count;
            }

            try
            {
                var embeddings = Model.Embed(batch.SelectMany(p => p.Texts).ToList());
                var at = 0;
                foreach (var pending in batch)
                {
                    pending.Result.TrySetResult(embeddings[at..(at + pending.Texts.Count)]);
                    at += pending.Texts.Count;
                }
            }
            catch (Exception ex)
            {
                Log.EmbeddingFailed(_logger, texts, ex);
                foreach (var pending in batch)
                {
                    pending.Result.TrySetException(ex);
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop;
    }

    private sealed record Pending(IReadOnlyList<string> Texts)
    {
        public TaskCompletionSource<float[][]> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
