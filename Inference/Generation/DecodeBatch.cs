using CustomerGrains.Inference.Onnx;
using Microsoft.ML.OnnxRuntime;

namespace CustomerGrains.Inference.Generation;

/// <summary>A sequence in a <see cref="DecodeBatch"/>: its prompt and the tokens chosen so far.</summary>
public sealed class BatchSequence(IReadOnlyList<int> prompt)
{
    public IReadOnlyList<int> Prompt { get; } = prompt.Count > 0 ? prompt : throw new ArgumentException("The prompt is empty.");

    public List<int> Generated { get; } = [];

    /// <summary>The token the next step feeds: the last one chosen.</summary>
    public int NextInput => Generated.Count > 0 ? Generated[^1] : throw new InvalidOperationException("Choose a first token from the prefill logits.");

    /// <summary>Tokens whose keys and values are in the batch's cache.</summary>
    internal int Cached { get; set; }
}

/// <summary>Sequences on their way into a <see cref="DecodeBatch"/>: their left-padded prompts, how far they are
/// prefilled, and the cache of the chunks prefilled so far (native tensors, released on disposal).</summary>
public sealed class PendingJoin : IDisposable
{
    private readonly OrtValue _emptyPast;
    private readonly List<OrtValue> _presents = [];

    internal PendingJoin(List<BatchSequence> newcomers, List<BatchSequence> prefills, int[] prefillRow, int longest, long[] ids, long[] mask, long[] positions, OrtValue emptyPast, int layers)
    {
        (Newcomers, Prefills, PrefillRow, Longest, Ids, Mask, Positions, _emptyPast) = (newcomers, prefills, prefillRow, longest, ids, mask, positions, emptyPast);
        Pasts = [.. Enumerable.Range(0, layers).Select(_ => (emptyPast, emptyPast))];
    }

    public IReadOnlyList<BatchSequence> Newcomers { get; }

    internal List<BatchSequence> Prefills { get; }

    internal int[] PrefillRow { get; }

    internal int Longest { get; }

    internal long[] Ids { get; }

    internal long[] Mask { get; }

    internal long[] Positions { get; }

    /// <summary>Prompt positions prefilled so far.</summary>
    internal int Offset { get; set; }

    internal (OrtValue Key, OrtValue Value)[] Pasts { get; }

    /// <summary>Keeps a chunk's presents as the next chunk's past, releasing the previous chunk's.</summary>
    internal void TakePresents(RunOutputs outputs)
    {
        var previous = _presents.ToList();
        _presents.Clear();
        for (var layer = 0; layer < Pasts.Length; layer++)
        {
            _presents.Add(outputs.Take($"present.{layer}.key"));
            _presents.Add(outputs.Take($"present.{layer}.value"));
            Pasts[layer] = (_presents[^2], _presents[^1]);
        }

        foreach (var present in previous)
        {
            present.Dispose();
        }
    }

    public void Dispose()
    {
        foreach (var present in _presents)
        {
            present.Dispose();
        }

        _presents.Clear();
        _emptyPast.Dispose();
    }
}

/// <summary>
/// Iteration-level batching over one model: sequences join between steps (their prompts prefilled together in chunks,
/// identical ones once), every step advances all of them by one token, and finished ones leave between steps, so a short
/// request never waits for a long one. The cache is one left-padded tensor per layer ([batch, kv_heads, past, head_dim]); padding is
/// masked with attention_mask, and position_ids carry each row's true positions. A step binds the previous step's
/// present tensors straight back as past (<see cref="ModelRun"/>, no copy); only joining and leaving repack the cache.
/// A join may be prefilled a chunk at a time (<see cref="BeginJoin"/>, <see cref="ContinueJoin"/>) with steps of the
/// running rows between chunks.
/// </summary>
public sealed class DecodeBatch(DecoderModel model) : IDisposable
{
    /// <summary>Query tokens (over all rows) per prefill run; a chunk is never shorter than <see cref="MinPrefillChunk"/>.</summary>
    internal const int PrefillQueryTokens = 2048;
    private const int MinPrefillChunk = 64;
    private readonly string[] _presentNames = model.OutputNames.Where(n => n.StartsWith("present.", StringComparison.Ordinal)).ToArray();
    private readonly List<BatchSequence> _rows = [];
    private readonly HashSet<BatchSequence> _finished = [];
    private readonly ModelRun _run = new(model.Session);
    private OrtValue[] _keys = [];
    private OrtValue[] _values = [];
    private int _past;

    /// <summary>The sequences still generating.</summary>
    public IReadOnlyList<BatchSequence> Sequences => _rows.Where(r => !_finished.Contains(r)).ToList();

    /// <summary>Rows of finished sequences still in the cache, awaiting compaction.</summary>
    public int FinishedRows => _finished.Count;

    /// <summary>Padded past length: the longest cached row.</summary>
    public int PastLength => _past;

    private DecoderConfig Config => model.Config;

    /// <summary>Stops the model step in progress (and every later one) at once: for shutting down.</summary>
    public void Terminate() => _run.Terminate();

    /// <summary>Prefills <paramref name="newcomers"/> together and adds them to the batch; returns each one's logits
    /// for its next token (after its last prompt token).</summary>
    public float[][] Join(IReadOnlyList<BatchSequence> newcomers)
    {
        if (newcomers.Count == 0)
        {
            return [];
        }

        using var join = BeginJoin(newcomers);
        float[][]? logits = null;
        while (logits is null)
        {
            logits = ContinueJoin(join, PrefillQueryTokens);
        }

        return logits;
    }

    /// <summary>Starts adding <paramref name="newcomers"/>: nothing runs until <see cref="ContinueJoin"/>, and the batch
    /// steps on meanwhile.</summary>
    public PendingJoin BeginJoin(IReadOnlyList<BatchSequence> newcomers)
    {
        if (newcomers.Count == 0)
        {
            throw new ArgumentException("Nothing joins.", nameof(newcomers));
        }

        // Identical prompts (the drafts of one suggestion) are prefilled once and their cache rows copied.
        var prefills = new List<BatchSequence>(newcomers.Count);
        var prefillRow = new int[newcomers.Count];
        for (var n = 0; n < newcomers.Count; n++)
        {
            var same = prefills.FindIndex(p => p.Prompt.Count == newcomers[n].Prompt.Count && p.Prompt.SequenceEqual(newcomers[n].Prompt));
            prefillRow[n] = same >= 0 ? same : prefills.Count;
            if (same < 0)
            {
                prefills.Add(newcomers[n]);
            }
        }

        var longest = prefills.Max(s => s.Prompt.Count);
        var ids = new long[prefills.Count * longest];
        var mask = new long[prefills.Count * (long)longest];
        var positions = new long[prefills.Count * longest];
        for (var n = 0; n < prefills.Count; n++)
        {
            var prompt = prefills[n].Prompt;
            var pad = longest - prompt.Count;
            for (var s = 0; s < prompt.Count; s++)
            {
                ids[n * longest + pad + s] = prompt[s];
                mask[n * longest + pad + s] = 1;
                positions[n * longest + pad + s] = s;
            }
        }

        return new PendingJoin([.. newcomers], prefills, prefillRow, longest, ids, mask, positions,
            Tensors.Allocate(model.KvType, prefills.Count, Config.KvHeads, 0, Config.HeadDim), Config.Layers);
    }

    /// <summary>
    /// Prefills the next chunk of a join: at most <paramref name="queryTokens"/> query tokens over its rows (never
    /// fewer than <see cref="MinPrefillChunk"/> a row), attending to the cache of the chunks before. Returns null while
    /// chunks remain; after the last, merges the newcomers into the batch and returns each one's logits for its next
    /// token. Chunking keeps attention scores at chunk × prompt per row instead of prompt² (32 prompts of 1,100
    /// tokens prefilled in one piece took 4 GB), and lets the running rows step between chunks.
    /// </summary>
    public float[][]? ContinueJoin(PendingJoin join, int queryTokens)
    {
        var batch = join.Prefills.Count;
        var longest = join.Longest;
        var offset = join.Offset;
        var length = Math.Min(Math.Max(MinPrefillChunk, queryTokens / batch), longest - offset);
        var last = offset + length == longest;
        var chunkIds = new long[batch * length];
        var chunkPositions = new long[batch * length];
        var chunkMask = new long[batch * (offset + length)];
        for (var b = 0; b < batch; b++)
        {
            join.Ids.AsSpan(b * longest + offset, length).CopyTo(chunkIds.AsSpan(b * length));
            join.Positions.AsSpan(b * longest + offset, length).CopyTo(chunkPositions.AsSpan(b * length));
            join.Mask.AsSpan(b * longest, offset + length).CopyTo(chunkMask.AsSpan(b * (offset + length)));
        }

        var outputs = Run(batch, length, chunkIds, chunkMask, chunkPositions, join.Pasts, last ? model.OutputNames : _presentNames);
        join.Offset += length;
        if (!last)
        {
            // This chunk's presents are the next one's past.
            using (outputs)
            {
                join.TakePresents(outputs);
            }

            return null;
        }

        using (outputs)
        {
            return Merge(join, outputs, length);
        }
    }

    private float[][] Merge(PendingJoin join, RunOutputs outputs, int lastChunk)
    {
        var (newcomers, prefills, prefillRow, longest) = (join.Newcomers, join.Prefills, join.PrefillRow, join.Longest);
        var prefillLogits = LastLogits(outputs, prefills.Count, lastChunk);
        var logits = new float[newcomers.Count][];
        for (var n = 0; n < newcomers.Count; n++)
        {
            // A sampler may scale logits in place; a shared row gets its own copy.
            logits[n] = prefills[prefillRow[n]] == newcomers[n] ? prefillLogits[prefillRow[n]] : (float[])prefillLogits[prefillRow[n]].Clone();
        }

        // Merge the running rows (cached in _keys/_values) and the newcomers (cached in the prefill's present) into
        // one left-padded cache as long as the longest row.
        // The repack also compacts: rows of finished sequences are left out here.
        var staying = _rows.Select((s, row) => (Sequence: s, Row: row)).Where(r => !_finished.Contains(r.Sequence)).ToList();
        var sources = staying.Select(r => (Prefill: false, r.Row, Length: r.Sequence.Cached))
            .Concat(newcomers.Select((s, n) => (Prefill: true, Row: prefillRow[n], Length: s.Prompt.Count)))
            .ToList();
        var past = Math.Max(staying.Select(r => r.Sequence.Cached).DefaultIfEmpty(0).Max(), longest);
        var keys = new OrtValue[Config.Layers];
        var values = new OrtValue[Config.Layers];
        for (var layer = 0; layer < Config.Layers; layer++)
        {
            var presentKey = outputs.GetBytes($"present.{layer}.key");
            var presentValue = outputs.GetBytes($"present.{layer}.value");
            keys[layer] = Repack(sources, past, _keys.Length > 0 ? _keys[layer].GetTensorMutableRawData() : default, _past, presentKey, longest);
            values[layer] = Repack(sources, past, _values.Length > 0 ? _values[layer].GetTensorMutableRawData() : default, _past, presentValue, longest);
        }

        Replace(keys, values, past);
        _rows.Clear();
        _rows.AddRange(staying.Select(r => r.Sequence));
        _finished.Clear();
        foreach (var sequence in newcomers)
        {
            sequence.Cached = sequence.Prompt.Count;
            _rows.Add(sequence);
        }

        return logits;
    }

    /// <summary>Feeds every sequence its last chosen token; returns the logits for the next token of each sequence still
    /// generating (rows of finished ones are computed until compaction, and ignored).</summary>
    public IReadOnlyList<(BatchSequence Sequence, float[] Logits)> Step()
    {
        var batch = _rows.Count;
        if (batch == _finished.Count)
        {
            return [];
        }

        var total = _past + 1;
        var ids = new long[batch];
        var mask = new long[batch * total];
        var positions = new long[batch];
        for (var b = 0; b < batch; b++)
        {
            var row = _rows[b];
            ids[b] = row.NextInput;
            positions[b] = row.Cached;
            mask.AsSpan(b * total + (_past - row.Cached), row.Cached + 1).Fill(1);
        }

        var pasts = Enumerable.Range(0, Config.Layers).Select(l => (_keys[l], _values[l])).ToArray();
        using var outputs = Run(batch, 1, ids, mask, positions, pasts);
        var logits = LastLogits(outputs, batch, 1);
        var keys = Enumerable.Range(0, Config.Layers).Select(l => outputs.Take($"present.{l}.key")).ToArray();
        var values = Enumerable.Range(0, Config.Layers).Select(l => outputs.Take($"present.{l}.value")).ToArray();
        Replace(keys, values, total);
        var live = new List<(BatchSequence, float[])>(batch - _finished.Count);
        for (var b = 0; b < batch; b++)
        {
            _rows[b].Cached++;
            if (!_finished.Contains(_rows[b]))
            {
                live.Add((_rows[b], logits[b]));
            }
        }

        return live;
    }

    /// <summary>Takes finished sequences out of generation. Their rows stay (masked work, no copy) until the next
    /// <see cref="Join"/> compacts the cache, or until they are a quarter of the batch, when it is compacted now.</summary>
    public void Leave(IReadOnlyCollection<BatchSequence> finished)
    {
        _finished.UnionWith(finished.Where(_rows.Contains));
        if (_finished.Count == 0)
        {
            return;
        }

        var remaining = _rows.Select((s, row) => (Sequence: s, Row: row)).Where(r => !_finished.Contains(r.Sequence)).ToList();
        if (remaining.Count == 0)
        {
            Replace([], [], 0);
            _rows.Clear();
            _finished.Clear();
            return;
        }

        if (_finished.Count * 4 < _rows.Count)
        {
            return;
        }

        var sources = remaining.Select(r => (Prefill: false, r.Row, Length: r.Sequence.Cached)).ToList();
        var past = remaining.Max(r => r.Sequence.Cached);
        var keys = new OrtValue[Config.Layers];
        var values = new OrtValue[Config.Layers];
        for (var layer = 0; layer < Config.Layers; layer++)
        {
            keys[layer] = Repack(sources, past, _keys[layer].GetTensorMutableRawData(), _past, default, 0);
            values[layer] = Repack(sources, past, _values[layer].GetTensorMutableRawData(), _past, default, 0);
        }

        Replace(keys, values, past);
        _rows.Clear();
        _rows.AddRange(remaining.Select(r => r.Sequence));
        _finished.Clear();
    }

    private RunOutputs Run(int batch, int length, long[] ids, long[] mask, long[] positions, (OrtValue Key, OrtValue Value)[] pasts, IReadOnlyList<string>? outputNames = null)
    {
        using var idsTensor = Tensors.Of<long>(ids, batch, length);
        using var maskTensor = Tensors.Of<long>(mask, batch, mask.Length / batch);
        using var positionsTensor = Tensors.Of<long>(positions, batch, length);
        var inputs = new List<(string, OrtValue)>(3 + pasts.Length * 2) { ("input_ids", idsTensor), ("attention_mask", maskTensor) };
        if (model.HasPositionIds)
        {
            inputs.Add(("position_ids", positionsTensor));
        }

        for (var layer = 0; layer < pasts.Length; layer++)
        {
            inputs.Add((model.PastNames[2 * layer], pasts[layer].Key));
            inputs.Add((model.PastNames[2 * layer + 1], pasts[layer].Value));
        }

        return _run.Run(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(inputs), outputNames ?? model.OutputNames);
    }

    /// <summary>Each row's logits at its last position, as float32 whatever the model's precision.</summary>
    private static float[][] LastLogits(RunOutputs outputs, int batch, int length)
    {
        var vocab = (int)outputs.ShapeOf("logits")[2];
        return outputs.GetSingles("logits", (long)(length - 1) * vocab, batch, vocab, (long)length * vocab);
    }

    /// <summary>A zeroed [rows, kv_heads, past, head_dim] cache holding each source row's last Length slots at its end,
    /// in the model's cache precision (bytes are copied as they are). Zeroed, not uninitialised: masked slots get
    /// weight 0, and 0 × NaN would still poison the sum.</summary>
    private OrtValue Repack(List<(bool Prefill, int Row, int Length)> sources, int past, ReadOnlySpan<byte> running, int runningPast, ReadOnlySpan<byte> prefill, int prefillPast)
    {
        var heads = Config.KvHeads;
        var dim = Config.HeadDim * Tensors.SizeOf(model.KvType); // bytes per position
        var tensor = Tensors.Allocate(model.KvType, sources.Count, heads, past, Config.HeadDim);
        var data = tensor.GetTensorMutableRawData();
        data.Clear();
        for (var row = 0; row < sources.Count; row++)
        {
            var (fromPrefill, sourceRow, length) = sources[row];
            var source = fromPrefill ? prefill : running;
            var sourcePast = fromPrefill ? prefillPast : runningPast;
            for (var head = 0; head < heads; head++)
            {
                var from = source.Slice(((sourceRow * heads + head) * sourcePast + sourcePast - length) * dim, length * dim);
                from.CopyTo(data.Slice(((row * heads + head) * past + past - length) * dim));
            }
        }

        return tensor;
    }

    private void Replace(OrtValue[] keys, OrtValue[] values, int past)
    {
        foreach (var buffer in _keys.Concat(_values))
        {
            buffer.Dispose();
        }

        (_keys, _values, _past) = (keys, values, past);
    }

    public void Dispose()
    {
        Replace([], [], 0);
        _run.Dispose();
    }
}
