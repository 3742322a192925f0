using System.Threading.Channels;

namespace CustomerGrains.Storage;

/// <summary>
/// Group commit: items that callers write at the same time go to PostgreSQL together, in one statement and one
/// commit, and each caller gets its own item's result once that commit is done. A single-row statement costs a round
/// trip, a parse of its parameters and a commit; shared by the writes that are waiting anyway, those costs are paid
/// once a batch. No wait is added: a writer takes whatever is queued the moment it is free.
/// Written here because nothing in Npgsql or Orleans batches independent callers' statements (NpgsqlBatch sends
/// one caller's statements together). Shared by the gateway's inbox and the customer grains' history.
/// </summary>
/// <param name="writeAsync">Writes a batch and returns one result per item, in the order given.</param>
/// <param name="writers">Batches in flight at once.</param>
/// <param name="failure">Turns the exception of an item that failed alone into the one its caller sees.</param>
public sealed class GroupCommit<TItem, TResult>(
    Func<IReadOnlyList<TItem>, Task<TResult[]>> writeAsync,
    int writers,
    int maxBatch,
    Func<Exception, Exception>? failure = null) : IAsyncDisposable
{
    private readonly Channel<Pending> _pending = Channel.CreateUnbounded<Pending>();
    private readonly Lock _start = new();
    private Task[]? _writers;

    public Task<TResult> WriteAsync(TItem item, CancellationToken cancellationToken = default)
    {
        if (_writers is null)
        {
            lock (_start)
            {
                _writers ??= Enumerable.Range(0, writers).Select(_ => Task.Run(WriteLoopAsync)).ToArray();
            }
        }

        var pending = new Pending(item);
        return _pending.Writer.TryWrite(pending)
            ? pending.Done.Task.WaitAsync(cancellationToken)
            : Task.FromException<TResult>(new ObjectDisposedException(nameof(GroupCommit<TItem, TResult>)));
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<Pending>(maxBatch);
        var items = new List<TItem>(maxBatch);
        while (await _pending.Reader.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < maxBatch && _pending.Reader.TryRead(out var pending))
            {
                batch.Add(pending);
            }

            if (!await TryWriteAsync(batch, items) && batch.Count > 1)
            {
                // One item PostgreSQL refuses must not fail the others it shared the statement with.
                foreach (var pending in batch)
                {
                    await TryWriteAsync([pending], items);
                }
            }
        }
    }

    /// <summary>Writes the batch and completes its callers; false, leaving them waiting, when several failed together
    /// for anything but an unreachable PostgreSQL (then one of them may be the cause, and each is tried alone).</summary>
    private async Task<bool> TryWriteAsync(List<Pending> batch, List<TItem> items)
    {
        try
        {
            items.Clear();
            items.AddRange(batch.Select(p => p.Item));
            var results = await writeAsync(items);
            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].Done.TrySetResult(results[i]);
            }

            return true;
        }
        catch (Exception ex) when (batch.Count > 1 && !PostgresFailure.IsUnreachable(ex))
        {
            return false;
        }
        catch (Exception ex)
        {
            var seen = failure?.Invoke(ex) ?? ex;
            foreach (var pending in batch)
            {
                pending.Done.TrySetException(seen);
            }

            return true;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _pending.Writer.TryComplete();
        if (_writers is not null)
        {
            await Task.WhenAll(_writers);
        }
    }

    private sealed class Pending(TItem item)
    {
        public TItem Item { get; } = item;

        public TaskCompletionSource<TResult> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
