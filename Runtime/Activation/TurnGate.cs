namespace CustomerGrains.Runtime.Activation;

/// <summary>
/// The turn discipline of one activation: exclusive turns run one at a time, read-only turns may run
/// together, and waiters are served first come first served so a stream of readers cannot starve a writer.
/// Uncontended entry completes synchronously without allocating.
/// </summary>
internal sealed class TurnGate
{
    private readonly Lock _lock = new();
    private readonly Queue<Waiter> _waiters = new();
    private int _readers;
    private bool _writer;

    /// <summary>Turns running plus turns waiting: how busy this activation is.</summary>
    public int Load
    {
        get
        {
            lock (_lock)
            {
                return _readers + (_writer ? 1 : 0) + _waiters.Count;
            }
        }
    }

    public bool IsIdle => Load == 0;

    public ValueTask EnterAsync(bool readOnly)
    {
        lock (_lock)
        {
            if (_waiters.Count == 0 && !_writer && (readOnly || _readers == 0))
            {
                Grant(readOnly);
                return default;
            }

            var waiter = new Waiter(readOnly);
            _waiters.Enqueue(waiter);
            return new ValueTask(waiter.Task);
        }
    }

    public void Exit(bool readOnly)
    {
        Waiter? first = null;
        List<Waiter>? more = null;
        lock (_lock)
        {
            if (readOnly)
            {
                _readers--;
            }
            else
            {
                _writer = false;
            }

            while (_waiters.TryPeek(out var next) && !_writer && (next.ReadOnly || _readers == 0))
            {
                _waiters.Dequeue();
                Grant(next.ReadOnly);
                if (first is null)
                {
                    first = next;
                }
                else
                {
                    (more ??= []).Add(next);
                }
            }
        }

        // Completed outside the lock; continuations run asynchronously so a turn never runs on the stack of the one before it.
        first?.SetResult();
        if (more is not null)
        {
            foreach (var waiter in more)
            {
                waiter.SetResult();
            }
        }
    }

    private void Grant(bool readOnly)
    {
        if (readOnly)
        {
            _readers++;
        }
        else
        {
            _writer = true;
        }
    }

    private sealed class Waiter(bool readOnly) : TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public bool ReadOnly { get; } = readOnly;
    }
}
