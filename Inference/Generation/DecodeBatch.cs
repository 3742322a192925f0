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

    internal PendingJoin(List<BatchSequence> newcomers, List<BatchSequence> prefills, int[] prefillRow, int longest, long[] ids, long[] mask, long[] positions, OrtValue emptyPast, string[] presentNames)
    {
        (Newcomers, Prefills, PrefillRow, Longest, Ids, Mask, Positions, _emptyPast, PresentNames) = (newcomers, prefills, prefillRow, longest, ids, mask, positions, emptyPast, presentNames);
        Pasts = [.. Enumerable.Range(0, presentNames.Length / 2).Select(_ => (emptyPast, emptyPast))];
        Slots = new SlotCache?[prefills.Count];
        Logits = new float[prefills.Count][];
    }

    public IReadOnlyList<BatchSequence> Newcomers { get; }

    internal List<BatchSequence> Prefills { get; }

    internal int[] PrefillRow { get; }

    internal int Longest { get; }

    private string[] PresentNames { get; }

    internal long[] Ids { get; }

    internal long[] Mask { get; }

    internal long[] Positions { get; }

    /// <summary>Prompt positions prefilled so far.</summary>
    internal int Offset { get; set; }

    internal (OrtValue Key, OrtValue Value)[] Pasts { get; }

    /// <summary><see cref="CacheLayout.Slots"/>: each prefill's cache (one shared by all when they are prefilled in one
    /// run), and its next-token logits once its prompt is done.</summary>
    internal SlotCache?[] Slots { get; }

    internal float[]?[] Logits { get; }

    /// <summary><see cref="CacheLayout.Slots"/>: the prefill being filled a chunk at a time, and how far it is.</summary>
    internal int Next { get; set; }

    /// <summary>Keeps a chunk's presents as the next chunk's past, releasing the previous chunk's.</summary>
    internal void TakePresents(RunOutputs outputs)
    {
        var previous = _presents.ToList();
        _presents.Clear();
        for (var layer = 0; layer < Pasts.Length; layer++)
        {
            _presents.Add(outputs.Take(PresentNames[2 * layer]));
            _presents.Add(outputs.Take(PresentNames[2 * layer + 1]));
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
        foreach (var slots in Slots.Distinct())
        {
            slots?.Dispose();
        }
    }
}

/// <summary>A KV cache of <see cref="CacheLayout.Slots"/>: per layer, keys and values [rows, kv_heads, capacity,
/// head_dim] in native memory, each row's positions from index 0; the model writes each step's keys and values into
/// it in place (bound as both past and present).</summary>
internal sealed class SlotCache : IDisposable
{
    public SlotCache(DecoderModel model, int rows, int capacity)
    {
        (Rows, Capacity) = (rows, capacity);
        var config = model.Config;
        Keys = [.. Enumerable.Range(0, config.Layers).Select(_ => Tensors.Allocate(model.KvType, rows, config.KvHeads, capacity, config.HeadDim))];
        Values = [.. Enumerable.Range(0, config.Layers).Select(_ => Tensors.Allocate(model.KvType, rows, config.KvHeads, capacity, config.HeadDim))];
    }

    public int Rows { get; }

    public int Capacity { get; }

    public OrtValue[] Keys { get; }

    public OrtValue[] Values { get; }

    public void Dispose()
    {
        foreach (var tensor in Keys.Concat(Values))
        {
            tensor.Dispose();
        }
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
    private readonly List<BatchSequence> _rows = [];
    private readonly HashSet<BatchSequence> _finished = [];
    private readonly ModelRun _run = new(model.Session);
    private readonly bool _slotted = model.Layout == CacheLayout.Slots;
    private OrtValue[] _keys = [];
    private OrtValue[] _values = [];
    private int _past;

    // CacheLayout.Slots: the rows' cache, written in place by each step.
    private SlotCache? _cache;

    /// <summary>The sequences still generating.</summary>
    public IReadOnlyList<BatchSequence> Sequences => _rows.Where(r => !_finished.Contains(r)).ToList();

    /// <summary>Rows of finished sequences still in the cache, awaiting compaction.</summary>
    public int FinishedRows => _finished.Count;

    /// <summary>Padded past length: the longest cached row (<see cref="CacheLayout.Slots"/>: the slots' capacity).</summary>
    public int PastLength => _slotted ? _cache?.Capacity ?? 0 : _past;

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
            var pad = _slotted ? 0 : longest - prompt.Count; // slots: packed from index 0, padded on the right
            for (var s = 0; s < prompt.Count; s++)
            {
                ids[n * longest + pad + s] = prompt[s];
                mask[n * longest + pad + s] = 1;
                positions[n * longest + pad + s] = s;
            }
        }

        return new PendingJoin([.. newcomers], prefills, prefillRow, longest, ids, mask, positions,
            Tensors.Allocate(model.KvType, prefills.Count, Config.KvHeads, 0, Config.HeadDim), model.PresentNames);
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
        if (_slotted)
        {
            return ContinueSlotJoin(join, queryTokens);
        }

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

        var outputs = Run(batch, length, chunkIds, chunkMask, chunkPositions, join.Pasts, last ? model.OutputNames : model.PresentNames);
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
            var presentKey = outputs.GetBytes(model.PresentNames[2 * layer]);
            var presentValue = outputs.GetBytes(model.PresentNames[2 * layer + 1]);
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

    /// <summary>
    /// <see cref="CacheLayout.Slots"/>: prompts that all fit in one chunk are prefilled in one run, right-padded (the
    /// model's first prompt for every row, each row's length from its mask); longer ones one at a time, a chunk of at most
    /// <paramref name="queryTokens"/> per call, since GroupQueryAttention takes a prompt chunk after cached positions only
    /// in a batch of one. Each prompt is written in place into its slot cache.
    /// </summary>
    private float[][]? ContinueSlotJoin(PendingJoin join, int queryTokens)
    {
        var count = join.Prefills.Count;
        if (join.Next == 0 && join.Offset == 0 && join.Longest <= Math.Max(MinPrefillChunk, queryTokens / count))
        {
            var shared = new SlotCache(model, count, join.Longest);
            Array.Fill(join.Slots, shared);
            using var outputs = Run(count, join.Longest, join.Ids, join.Mask, join.Positions, shared);
            for (var n = 0; n < count; n++)
            {
                join.Logits[n] = RowLogits(outputs, n, join.Prefills[n].Prompt.Count - 1);
            }

            join.Next = count;
        }
        else
        {
            var n = join.Next;
            var prompt = join.Prefills[n].Prompt;
            var cache = join.Slots[n] ??= new SlotCache(model, 1, prompt.Count);
            var offset = join.Offset;
            var length = Math.Min(Math.Max(MinPrefillChunk, queryTokens), prompt.Count - offset);
            var ids = new long[length];
            for (var s = 0; s < length; s++)
            {
                ids[s] = prompt[offset + s];
            }

            var mask = new long[offset + length];
            Array.Fill(mask, 1L);
            using var outputs = Run(1, length, ids, mask, new long[length], cache);
            join.Offset += length;
            if (join.Offset == prompt.Count)
            {
                join.Logits[n] = RowLogits(outputs, 0, length - 1);
                (join.Next, join.Offset) = (n + 1, 0);
            }
        }

        return join.Next < count ? null : MergeSlots(join);
    }

    /// <summary><see cref="CacheLayout.Slots"/>: one cache of the running rows and the newcomers, compacted, with room
    /// for the steps ahead.</summary>
    private float[][] MergeSlots(PendingJoin join)
    {
        var (newcomers, prefills, prefillRow) = (join.Newcomers, join.Prefills, join.PrefillRow);
        var logits = new float[newcomers.Count][];
        for (var n = 0; n < newcomers.Count; n++)
        {
            logits[n] = prefills[prefillRow[n]] == newcomers[n] ? join.Logits[prefillRow[n]]! : (float[])join.Logits[prefillRow[n]]!.Clone();
        }

        var staying = _rows.Select((s, row) => (Sequence: s, Row: row)).Where(r => !_finished.Contains(r.Sequence)).ToList();
        var sources = staying.Select(r => (_cache!, r.Row, r.Sequence.Cached))
            .Concat(newcomers.Select((s, n) => (join.Slots[prefillRow[n]]!, join.Slots[prefillRow[n]]!.Rows == 1 ? 0 : prefillRow[n], s.Prompt.Count)))
            .ToList();
        var needed = sources.Max(source => source.Item3) + 1;
        var cache = CopySlots(sources, Math.Max(_cache?.Capacity ?? 0, SlotCapacity(needed)));
        ReplaceSlots(cache);
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

    /// <summary>Room for <paramref name="needed"/> positions and some steps more (a quarter, at least 64), so the cache
    /// is copied to a larger one rarely; never beyond the model's context.</summary>
    private int SlotCapacity(int needed) =>
        Math.Max(needed, Math.Min(Config.MaxPositions, (needed + Math.Max(64, needed / 4) + 63) / 64 * 64));

    /// <summary>A new slot cache of <paramref name="capacity"/> holding each source row's first Length positions.</summary>
    private SlotCache CopySlots(List<(SlotCache Cache, int Row, int Length)> sources, int capacity)
    {
        var cache = new SlotCache(model, sources.Count, capacity);
        var heads = Config.KvHeads;
        var dim = Config.HeadDim * Tensors.SizeOf(model.KvType); // bytes per position
        for (var layer = 0; layer < Config.Layers; layer++)
        {
            foreach (var (targets, pick) in new[] { (cache.Keys, (Func<SlotCache, OrtValue[]>)(c => c.Keys)), (cache.Values, c => c.Values) })
            {
                var data = targets[layer].GetTensorMutableRawData();
                data.Clear();
                for (var row = 0; row < sources.Count; row++)
                {
                    var (source, sourceRow, length) = sources[row];
                    var from = pick(source)[layer].GetTensorMutableRawData();
                    for (var head = 0; head < heads; head++)
                    {
                        from.Slice((sourceRow * heads + head) * source.Capacity * dim, length * dim)
                            .CopyTo(data.Slice((row * heads + head) * capacity * dim));
                    }
                }
            }
        }

        return cache;
    }

    private void ReplaceSlots(SlotCache? cache)
    {
        _cache?.Dispose();
        _cache = cache;
    }

    /// <summary><see cref="CacheLayout.Slots"/>: every row fed its last token, its keys and values written at its own
    /// length in place; finished rows are computed (masked work) without advancing, until compaction.</summary>
    private IReadOnlyList<(BatchSequence Sequence, float[] Logits)> StepSlots()
    {
        var batch = _rows.Count;
        var width = _rows.Max(r => r.Cached) + 1;
        if (width > _cache!.Capacity)
        {
            ReplaceSlots(CopySlots([.. _rows.Select((r, row) => (_cache, row, r.Cached))], SlotCapacity(width)));
        }

        var ids = new long[batch];
        var mask = new long[batch * width];
        for (var b = 0; b < batch; b++)
        {
            ids[b] = _rows[b].NextInput;
            mask.AsSpan(b * width, _rows[b].Cached + 1).Fill(1);
        }

        using var outputs = Run(batch, 1, ids, mask, new long[batch], _cache!);
        var logits = LastLogits(outputs, batch, 1);
        var live = new List<(BatchSequence, float[])>(batch - _finished.Count);
        for (var b = 0; b < batch; b++)
        {
            if (!_finished.Contains(_rows[b]))
            {
                _rows[b].Cached++;
                live.Add((_rows[b], logits[b]));
            }
        }

        return live;
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

        if (_slotted)
        {
            return StepSlots();
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
        var keys = Enumerable.Range(0, Config.Layers).Select(l => outputs.Take(model.PresentNames[2 * l])).ToArray();
        var values = Enumerable.Range(0, Config.Layers).Select(l => outputs.Take(model.PresentNames[2 * l + 1])).ToArray();
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
            ReplaceSlots(null);
            _rows.Clear();
            _finished.Clear();
            return;
        }

        if (_finished.Count * 4 < _rows.Count)
        {
            return;
        }

        if (_slotted)
        {
            ReplaceSlots(CopySlots([.. remaining.Select(r => (_cache!, r.Row, r.Sequence.Cached))], _cache!.Capacity));
            _rows.Clear();
            _rows.AddRange(remaining.Select(r => r.Sequence));
            _finished.Clear();
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

    private RunOutputs Run(int batch, int length, long[] ids, long[] mask, long[] positions, (OrtValue Key, OrtValue Value)[] pasts, IReadOnlyList<string>? outputNames = null, SlotCache? inPlace = null)
    {
        using var idsTensor = Tensors.Of<long>(ids, batch, length);
        using var maskTensor = Tensors.Of<long>(mask, batch, mask.Length / batch);
        using var positionsTensor = Tensors.Of<long>(positions, batch, length);
        var names = model.Names;
        var inputs = new List<(string, OrtValue)>(3 + pasts.Length * 2) { (names.InputIds, idsTensor), (names.AttentionMask, maskTensor) };
        if (model.HasPositionIds)
        {
            inputs.Add((names.PositionIds, positionsTensor));
        }

        for (var layer = 0; layer < pasts.Length; layer++)
        {
            inputs.Add((model.PastNames[2 * layer], pasts[layer].Key));
            inputs.Add((model.PastNames[2 * layer + 1], pasts[layer].Value));
        }

        var into = new List<(string, OrtValue)>(inPlace is null ? 0 : pasts.Length * 2);
        for (var layer = 0; inPlace is not null && layer < pasts.Length; layer++)
        {
            into.Add((model.PresentNames[2 * layer], inPlace.Keys[layer]));
            into.Add((model.PresentNames[2 * layer + 1], inPlace.Values[layer]));
        }

        return _run.Run(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(inputs), outputNames ?? model.OutputNames, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(into));
    }

    /// <summary><see cref="CacheLayout.Slots"/>: a run whose presents are written into <paramref name="cache"/>, which is
    /// also its past; only the logits come back.</summary>
    private RunOutputs Run(int batch, int length, long[] ids, long[] mask, long[] positions, SlotCache cache) =>
        Run(batch, length, ids, mask, positions, [.. cache.Keys.Zip(cache.Values)], [model.Names.Logits], cache);

    /// <summary>Each row's logits at its last position, as float32 whatever the model's precision.</summary>
    private float[][] LastLogits(RunOutputs outputs, int batch, int length)
    {
        var vocab = (int)outputs.ShapeOf(model.Names.Logits)[2];
        return outputs.GetSingles(model.Names.Logits, (long)(length - 1) * vocab, batch, vocab, (long)length * vocab);
    }

    /// <summary>One row's logits at <paramref name="position"/>, as float32.</summary>
    private float[] RowLogits(RunOutputs outputs, int row, int position)
    {
        var shape = outputs.ShapeOf(model.Names.Logits);
        var (length, vocab) = ((int)shape[1], (int)shape[2]);
        return outputs.GetSingles(model.Names.Logits, ((long)row * length + position) * vocab, 1, vocab, vocab)[0];
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
        ReplaceSlots(null);
        _run.Dispose();
    }
}
