using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace CustomerGrains.Inference.Generation;

/// <summary>Interactive requests (an agent waiting) go before background ones; FIFO within a priority.</summary>
public enum RequestPriority
{
    Interactive,
    Background,
}

/// <summary>Why generation ended.</summary>
public enum FinishReason
{
    EndOfSequence,
    Length,
    StopString,
}

/// <summary>A generation request.</summary>
/// <param name="Deadline">When the answer is no longer wanted: a request still queued then, or one that could not finish
/// by then at the pool's current pace, is rejected; one still running then is stopped. Either way its slot goes to
/// requests that can still make it.</param>
public sealed record GenerationRequest(
    string Prompt,
    int MaxNewTokens = 128,
    SamplingOptions? Sampling = null,
    IReadOnlyList<string>? StopStrings = null,
    RequestPriority Priority = RequestPriority.Interactive,
    DateTimeOffset? Deadline = null,
    string? Tenant = null);

public sealed record GenerationResult(string Text, IReadOnlyList<int> Tokens, FinishReason FinishReason, int PromptTokens, TimeSpan Queued, TimeSpan Total);

/// <summary>The pool refused a request without running it: queue full (back-pressure) or deadline passed in the queue.</summary>
public sealed class PoolRejectedException(string reason, string message) : Exception(message)
{
    public const string QueueFull = "queue-full";
    public const string DeadlineExceeded = "deadline-exceeded";

    public string Reason { get; } = reason;
}

/// <summary>Limits of a pool (configuration section <c>Inference:Pool</c> once the silo hosts one).</summary>
/// <param name="Model">The configured name the pool's metrics carry (<see cref="InferenceTelemetry"/>).</param>
/// <param name="KvCacheBytes">The most the batch's KV cache may take. The cache is padded to its longest row, so a
/// batch of n rows whose longest may reach L tokens (prompt and maxNewTokens) can take n × L ×
/// <see cref="DecoderModel.KvBytesPerToken"/>; a request joins only if that stays within this.</param>
/// <param name="PrefillChunk">Query tokens per prefill chunk of a join while other rows are generating: each chunk
/// costs about a few steps, and the running rows step between chunks, so a long prompt joining does not stall the
/// drafts that stream. With nothing running, a join is prefilled in chunks of 2,048.</param>
public sealed record PoolOptions(int MaxBatch = 32, int MaxTokensInFlight = 16_384, int MaxQueue = 256, string Model = "default", long KvCacheBytes = long.MaxValue, int PrefillChunk = 256);

/// <summary>What the pool has done, for health and benchmarks. <paramref name="PeakBatch"/>: the most sequences one
/// step has advanced.</summary>
public sealed record PoolStats(long Completed, long Rejected, long Expired, long Cancelled, long Steps, int Running, int Queued, int PeakBatch);

/// <summary>
/// One model's scheduler: requests wait in a bounded priority queue and join the running batch at step boundaries
/// (iteration-level batching, <see cref="DecodeBatch"/>); each step advances every running sequence by one token,
/// and a sequence leaves as soon as it is done, so a short request never waits for a long one. A full queue rejects
/// at once; a request that cannot meet its deadline is rejected or stopped with that reason; cancelling frees the slot.
/// The model runs on one dedicated thread.
/// </summary>
public sealed class InferencePool : IAsyncDisposable
{
    private const int JoinAfterSteps = 4;
    private readonly DecoderModel _model;
    private readonly PoolOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly LinkedList<Pending>[] _queues = [new(), new()];

    // When each tenant was last admitted (a count of admissions), for turns between tenants; only the admitting loop
    // touches it.
    private readonly Dictionary<string, long> _turns = [];
    private long _admissions;
    private readonly SemaphoreSlim _signal = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly DecodeBatch _batch;
    private readonly Task _loop;
    private long _completed, _rejected, _expired, _cancelled, _steps;
    private int _stepsSinceJoin;

    // The join being prefilled a chunk at a time, and the requests it brings (only the model's thread touches them).
    private PendingJoin? _join;
    private List<Pending> _joining = [];
    private int _running;
    private int _peakBatch;
    // Moving average of a step's duration: the pace a newcomer would generate at. An average, not a median: a reply's
    // time is the sum of its steps, slow ones included (with a median of the last 16 steps, bench.sh suggestions
    // admitted requests that then missed their deadline: degraded_share 0.2 -> 0.77).
    private double _stepSeconds;

    public InferencePool(DecoderModel model, PoolOptions options, TimeProvider time, ILogger logger)
    {
        _model = model;
        _options = options;
        _time = time;
        _logger = logger;
        _batch = new DecodeBatch(model);
        WarmUp();
        _loop = Task.Factory.StartNew(RunAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
        InferenceTelemetry.Add(this, options.Model);
    }

    public DecoderModel Model => _model;

    /// <summary>
    /// ONNX Runtime's first runs of a session allocate its memory and choose its kernels (on CUDA: initialise the device
    /// and its libraries), several times a normal step (the test decoder on 2 cores: 8 ms against 3). Done here, at load,
    /// the first customer does not wait for it, and the pace that deadlines are judged by starts from warm steps.
    /// </summary>
    private void WarmUp()
    {
        const int Steps = 3;
        var sequence = new BatchSequence(_model.Tokenizer.Encode("Hello"));
        _batch.Join([sequence]);
        for (var i = 0; i < Steps; i++)
        {
            sequence.Generated.Add(sequence.Prompt[^1]);
            var started = _time.GetTimestamp();
            _batch.Step();
            _stepSeconds = _time.GetElapsedTime(started).TotalSeconds;
        }

        _batch.Leave([sequence]);
    }

    public PoolStats Stats
    {
        get
        {
            lock (_lock)
            {
                return new(_completed, _rejected, _expired, _cancelled, _steps, _running, _queues.Sum(q => q.Count), Volatile.Read(ref _peakBatch));
            }
        }
    }

    /// <summary>Generates and returns the whole result.</summary>
    public async Task<GenerationResult> GenerateAsync(GenerationRequest request, CancellationToken cancellationToken = default)
    {
        var pending = Enqueue(request, streaming: false, cancellationToken);
        return await pending.Result.Task;
    }

    /// <summary>Generates, yielding text as tokens come (whole characters only).</summary>
    public async IAsyncEnumerable<string> StreamAsync(GenerationRequest request, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var pending = Enqueue(request, streaming: true, cancellationToken);
        await foreach (var piece in pending.Stream!.Reader.ReadAllAsync(CancellationToken.None))
        {
            yield return piece;
        }

        await pending.Result.Task; // surfaces rejection, cancellation or failure
    }

    private Pending Enqueue(GenerationRequest request, bool streaming, CancellationToken cancellationToken)
    {
        var problems = Validate(request).ToList();
        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", problems));
        }

        var prompt = _model.EncodePrompt(request.Prompt);
        if (prompt.Length + request.MaxNewTokens > _model.Config.MaxPositions)
        {
            throw new ArgumentException($"The prompt of {prompt.Length} tokens plus maxNewTokens {request.MaxNewTokens} exceeds the model's context of {_model.Config.MaxPositions} tokens.");
        }

        // A request bigger than the whole batch may hold would wait in the queue forever: refused now, with the reason.
        if (prompt.Length + request.MaxNewTokens > _options.MaxTokensInFlight)
        {
            throw new ArgumentException(
                $"The prompt of {prompt.Length} tokens plus maxNewTokens {request.MaxNewTokens} is more than the batch holds at once (Inference:MaxTokensInFlight {_options.MaxTokensInFlight}); it could never run.");
        }

        // Alone in the batch it would still take more cache than the budget: it could never join.
        var cacheBytes = (prompt.Length + request.MaxNewTokens) * _model.KvBytesPerToken;
        if (cacheBytes > _options.KvCacheBytes)
        {
            throw new ArgumentException(
                $"The prompt of {prompt.Length} tokens plus maxNewTokens {request.MaxNewTokens} needs {cacheBytes:N0} bytes of KV cache, more than the model's budget (Inference:Models:{_options.Model}:KvCacheBytes {_options.KvCacheBytes:N0}); it could never run.");
        }

        var stopIds = (request.StopStrings ?? []).Select(stop => _model.Tokenizer.SpecialTokens.TryGetValue(stop, out var id) ? id : -1).Where(id => id >= 0).ToHashSet();
        var pending = new Pending(request, prompt, _time.GetTimestamp(), streaming, stopIds);
        lock (_lock)
        {
            if (_queues.Sum(q => q.Count) >= _options.MaxQueue)
            {
                _rejected++;
                throw new PoolRejectedException(PoolRejectedException.QueueFull, $"The inference queue is full ({_options.MaxQueue} waiting); try again later.");
            }

            // One tenant's flood leaves room in the queue for the others.
            if (request.Tenant is { } tenant && _queues.Sum(q => q.Count(p => p.Request.Tenant == tenant)) >= _options.MaxQueue * 3 / 4)
            {
                _rejected++;
                throw new PoolRejectedException(PoolRejectedException.QueueFull,
                    $"Tenant '{tenant}' holds three quarters of the inference queue ({_options.MaxQueue * 3 / 4} waiting); the rest is kept for the other tenants. Try again later.");
            }

            pending.Node = _queues[(int)request.Priority].AddLast(pending);
        }

        if (cancellationToken.CanBeCanceled)
        {
            pending.Registration = cancellationToken.Register(() =>
            {
                pending.CancelRequested = true;
                _signal.Release();
            });
        }

        _signal.Release();
        return pending;
    }

    private IEnumerable<string> Validate(GenerationRequest request)
    {
        if (string.IsNullOrEmpty(request.Prompt))
        {
            yield return "The prompt is empty.";
        }

        if (request.MaxNewTokens < 1)
        {
            yield return $"maxNewTokens must be at least 1, not {request.MaxNewTokens}.";
        }

        foreach (var problem in (request.Sampling ?? SamplingOptions.Greedy).Problems())
        {
            yield return problem;
        }
    }

    private async Task RunAsync()
    {
        var batch = _batch;
        var active = new Dictionary<BatchSequence, Pending>();
        while (!_stop.IsCancellationRequested)
        {
            if (active.Count == 0 && _join is null)
            {
                try
                {
                    await _signal.WaitAsync(_stop.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }

            try
            {
                Step(batch, active);
            }
            catch (Exception ex)
            {
                // A model failure fails the requests in the batch, never the pool; a step terminated because the pool
                // stops is no failure.
                var stopping = _stop.IsCancellationRequested;
                if (!stopping)
                {
                    Log.StepFailed(_logger, active.Count, ex);
                }

                foreach (var pending in active.Values.Concat(_joining))
                {
                    pending.Fail(stopping ? Stopped() : ex);
                }

                batch.Leave(active.Keys.ToList());
                active.Clear();
                EndJoin();
                Interlocked.Exchange(ref _running, 0);
            }
        }

        foreach (var pending in active.Values.Concat(_joining).Concat(Drain()))
        {
            pending.Fail(Stopped());
        }

        EndJoin();
    }

    private static ObjectDisposedException Stopped() => new(nameof(InferencePool), "The inference pool stopped.");

    private void Step(DecodeBatch batch, Dictionary<BatchSequence, Pending> active)
    {
        // Between steps: drop cancelled sequences, reject expired waiters, admit newcomers while there is room.
        var cancelled = active.Where(a => a.Value.CancelRequested).Select(a => a.Key).ToList();
        foreach (var sequence in cancelled)
        {
            active.Remove(sequence, out var pending);
            pending!.Cancel();
            Interlocked.Increment(ref _cancelled);
        }

        batch.Leave(cancelled);
        var now = _time.GetUtcNow();
        var late = active.Where(a => a.Value.Request.Deadline <= now).Select(a => a.Key).ToList();
        foreach (var sequence in late)
        {
            active.Remove(sequence, out var pending);
            pending!.Fail(new PoolRejectedException(PoolRejectedException.DeadlineExceeded,
                $"The request was stopped at its deadline after {sequence.Generated.Count} of {pending.Request.MaxNewTokens} tokens."));
            Interlocked.Increment(ref _expired);
        }

        batch.Leave(late);
        if (_join is null)
        {
            var joining = Admit(active);
            if (joining.Count > 0)
            {
                _stepsSinceJoin = 0;
                _joining = joining;
                _join = batch.BeginJoin([.. joining.Select(p => p.Sequence)]);
            }
        }

        // One chunk of the join per step while rows are generating; the newcomers are in the batch after the last.
        if (_join is not null && batch.ContinueJoin(_join, active.Count > 0 ? _options.PrefillChunk : DecodeBatch.PrefillQueryTokens) is { } first)
        {
            for (var i = 0; i < _joining.Count; i++)
            {
                active[_joining[i].Sequence] = _joining[i];
                _joining[i].Accept(first[i], _model);
            }

            EndJoin();
        }

        Finish(batch, active);
        if (active.Count == 0)
        {
            return;
        }

        Volatile.Write(ref _peakBatch, Math.Max(_peakBatch, active.Count));
        var model = new KeyValuePair<string, object?>(InferenceTelemetry.ModelAttribute, _options.Model);
        InferenceTelemetry.BatchSize.Record(active.Count, model);
        InferenceTelemetry.Tokens.Add(active.Count, model);
        var started = _time.GetTimestamp();
        foreach (var (sequence, logits) in batch.Step())
        {
            active[sequence].Accept(logits, _model);
        }

        var seconds = _time.GetElapsedTime(started).TotalSeconds;
        _stepSeconds = _stepSeconds == 0 ? seconds : 0.9 * _stepSeconds + 0.1 * seconds;
        Interlocked.Increment(ref _steps);
        _stepsSinceJoin++;
        Finish(batch, active);
    }

    private void Finish(DecodeBatch batch, Dictionary<BatchSequence, Pending> active)
    {
        var done = active.Where(a => a.Value.Finished is not null).ToList();
        foreach (var (sequence, pending) in done)
        {
            active.Remove(sequence);
            pending.Complete(_model, _time.GetElapsedTime(pending.EnqueuedAt));
            Interlocked.Increment(ref _completed);
        }

        batch.Leave(done.Select(d => d.Key).ToList());
        Volatile.Write(ref _running, active.Count);
    }

    private List<Pending> Admit(Dictionary<BatchSequence, Pending> active)
    {
        var joining = new List<Pending>();
        var inFlight = active.Values.Sum(p => p.Budget);
        var longest = active.Values.Select(p => p.Budget).DefaultIfEmpty(0).Max();
        var now = _time.GetUtcNow();

        // Joining costs a prefill and a copy of the whole cache, so newcomers join in groups: when the batch is
        // empty, when an eighth of its slots are free, or when they have waited JoinAfterSteps steps.
        var free = _options.MaxBatch - active.Count;
        var admitting = active.Count == 0 || free >= Math.Max(1, _options.MaxBatch / 8) || _stepsSinceJoin >= JoinAfterSteps;

        // A tenant's share of the batch: among requests of one priority, those of the tenants running the fewest go first,
        // then the tenant served least recently (oldest first within a tenant), so that a tenant that floods the pool
        // cannot hold back another's few.
        var running = active.Values.GroupBy(p => p.Request.Tenant ?? "").ToDictionary(g => g.Key, g => g.Count());
        lock (_lock)
        {
            foreach (var queue in _queues)
            {
                foreach (var node in FairOrder(queue, running, _turns))
                {
                    var pending = node.Value;
                    if (pending.CancelRequested)
                    {
                        queue.Remove(node);
                        pending.Cancel();
                        _cancelled++;
                    }
                    else if (pending.Request.Deadline is { } deadline && deadline <= now)
                    {
                        queue.Remove(node);
                        _expired++;
                        pending.Fail(new PoolRejectedException(PoolRejectedException.DeadlineExceeded,
                            $"The request waited {_time.GetElapsedTime(pending.EnqueuedAt).TotalMilliseconds:0} ms and its deadline passed before a slot was free."));
                    }
                    else if (active.Count + joining.Count > 0 && pending.Request.Deadline is { } due && now + TimeSpan.FromSeconds(_stepSeconds * pending.Request.MaxNewTokens) > due)
                    {
                        // Even started now it would be stopped before maxNewTokens: said at once, so the caller can
                        // fall back while there is time, and the slot serves a request that can finish. An idle pool
                        // runs the first anyway (stopping it at its deadline): it has no one to serve instead, and its
                        // steps measure the pace again, which a slow spell may have left far too slow.
                        queue.Remove(node);
                        _expired++;
                        pending.Fail(new PoolRejectedException(PoolRejectedException.DeadlineExceeded,
                            $"The request could not finish {pending.Request.MaxNewTokens} tokens before its deadline at the current pace of {_stepSeconds * 1000:0.0} ms per token."));
                    }
                    else if (admitting && active.Count + joining.Count < _options.MaxBatch && inFlight + pending.Budget <= _options.MaxTokensInFlight
                        && (active.Count + joining.Count + 1) * Math.Max(longest, pending.Budget) * _model.KvBytesPerToken <= _options.KvCacheBytes)
                    {
                        queue.Remove(node);
                        joining.Add(pending);
                        inFlight += pending.Budget;
                        longest = Math.Max(longest, pending.Budget);
                        pending.Queued = _time.GetElapsedTime(pending.EnqueuedAt);
                        running[pending.Request.Tenant ?? ""] = running.GetValueOrDefault(pending.Request.Tenant ?? "") + 1;
                        _turns[pending.Request.Tenant ?? ""] = ++_admissions;
                    }
                }
            }
        }

        return joining;
    }

    /// <summary>The queue's requests taken in turns by tenant: each tenant's oldest first, the tenant running the fewest
    /// (counting those admitted as the turns go) next, then the one admitted least recently (<paramref name="turns"/>:
    /// when each tenant was last admitted). With one tenant, the queue's own order.</summary>
    private static IEnumerable<LinkedListNode<Pending>> FairOrder(LinkedList<Pending> queue, Dictionary<string, int> running, Dictionary<string, long> turns)
    {
        var byTenant = new Dictionary<string, Queue<LinkedListNode<Pending>>>();
        for (var node = queue.First; node is not null; node = node.Next)
        {
            var tenant = node.Value.Request.Tenant ?? "";
            (byTenant.TryGetValue(tenant, out var nodes) ? nodes : byTenant[tenant] = new()).Enqueue(node);
        }

        while (byTenant.Count > 0)
        {
            // The tenant running the fewest now; among equals, the one served least recently, then the one whose oldest waited longest.
            var next = byTenant.MinBy(t => (running.GetValueOrDefault(t.Key), turns.GetValueOrDefault(t.Key), t.Value.Peek().Value.EnqueuedAt));
            var node = next.Value.Dequeue();
            if (next.Value.Count == 0)
            {
                byTenant.Remove(next.Key);
            }

            yield return node;
        }
    }

    private void EndJoin()
    {
        _join?.Dispose();
        _join = null;
        _joining = [];
    }

    private List<Pending> Drain()
    {
        lock (_lock)
        {
            var all = _queues.SelectMany(q => q).ToList();
            foreach (var queue in _queues)
            {
                queue.Clear();
            }

            return all;
        }
    }

    public async ValueTask DisposeAsync()
    {
        InferenceTelemetry.Remove(this);
        await _stop.CancelAsync();
        _batch.Terminate(); // a long prefill in progress stops now, not when it is done
        _signal.Release();
        await _loop;
        _batch.Dispose();
        _stop.Dispose();
    }

    /// <summary>A request from enqueueing to completion.</summary>
    /// <param name="stopIds">The stop strings that are special tokens, by id: decoded text never shows them.</param>
    private sealed class Pending(GenerationRequest request, int[] prompt, long enqueuedAt, bool streaming, IReadOnlySet<int> stopIds)
    {
        private readonly Sampler _sampler = new(request.Sampling ?? SamplingOptions.Greedy);
        private string _text = "";
        private int _emitted;

        public GenerationRequest Request { get; } = request;

        public BatchSequence Sequence { get; } = new(prompt);

        public long EnqueuedAt { get; } = enqueuedAt;

        public int Budget => Sequence.Prompt.Count + Request.MaxNewTokens;

        public LinkedListNode<Pending>? Node { get; set; }

        public CancellationTokenRegistration Registration { get; set; }

        public volatile bool CancelRequested;

        public TimeSpan Queued { get; set; }

        public FinishReason? Finished { get; private set; }

        public Channel<string>? Stream { get; } = streaming ? Channel.CreateUnbounded<string>() : null;

        public TaskCompletionSource<GenerationResult> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Chooses the next token from <paramref name="logits"/> and decides whether the sequence is done.</summary>
        public void Accept(float[] logits, DecoderModel model)
        {
            var sampling = Request.Sampling ?? SamplingOptions.Greedy;
            var token = _sampler.Next(logits, sampling.RepetitionPenalty != 1 ? [.. Sequence.Prompt, .. Sequence.Generated] : []);
            Sequence.Generated.Add(token);
            if (model.Config.EosTokenIds.Contains(token))
            {
                Finished = FinishReason.EndOfSequence;
                return;
            }

            // A stop string that is a special token never shows in decoded text (decoding leaves special tokens out):
            // it stops at its id, and stays out of the reply like an end of sequence.
            if (stopIds.Contains(token))
            {
                Sequence.Generated.RemoveAt(Sequence.Generated.Count - 1);
                Finished = FinishReason.StopString;
                _text = model.Tokenizer.Decode(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(Sequence.Generated));
                if (Stream is not null && _text.Length > _emitted)
                {
                    Stream.Writer.TryWrite(_text[_emitted..]);
                    _emitted = _text.Length;
                }

                return;
            }

            if (Sequence.Generated.Count >= Request.MaxNewTokens)
            {
                Finished = FinishReason.Length;
            }

            // Text is decoded per token only when something reads it: stop strings or a stream.
            if (Request.StopStrings is not { Count: > 0 } && Stream is null)
            {
                return;
            }

            _text = model.Tokenizer.Decode(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(Sequence.Generated));
            var stopAt = (Request.StopStrings ?? []).Select(stop => _text.IndexOf(stop, StringComparison.Ordinal)).Where(at => at >= 0).DefaultIfEmpty(-1).Min();
            if (stopAt >= 0)
            {
                _text = _text[..stopAt];
                Finished = FinishReason.StopString;
            }

            // Stream whole characters only: a multi-byte character may still be half-way through its tokens.
            var ready = Finished is null && _text.EndsWith('\uFFFD') ? _text.TrimEnd('\uFFFD').Length : _text.Length;
            if (Stream is not null && ready > _emitted)
            {
                Stream.Writer.TryWrite(_text[_emitted..ready]);
                _emitted = ready;
            }
        }

        public void Complete(DecoderModel model, TimeSpan total)
        {
            Registration.Dispose();
            Stream?.Writer.TryComplete();
            var tokens = Finished == FinishReason.EndOfSequence ? Sequence.Generated.Take(Sequence.Generated.Count - 1).ToList() : Sequence.Generated;
            if (Finished != FinishReason.StopString)
            {
                _text = model.Tokenizer.Decode(tokens.ToArray());
            }

            Result.TrySetResult(new GenerationResult(_text, tokens, Finished!.Value, Sequence.Prompt.Count, Queued, total));
        }

        public void Cancel()
        {
            Registration.Dispose();
            Stream?.Writer.TryComplete();
            Result.TrySetCanceled();
        }

        public void Fail(Exception exception)
        {
            Registration.Dispose();
            Stream?.Writer.TryComplete();
            Result.TrySetException(exception);
        }
    }
}
