using System.Runtime.InteropServices;
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

/// <summary>A KV cache: keys and values of every layer (key 0, value 0, key 1, ...), each [rows, kv_heads,
/// <see cref="Length"/>, head_dim], in the provider's memory. Disposing releases the tensors.</summary>
internal sealed class KvTensors(OrtValue[] tensors, int length) : IDisposable
{
    public OrtValue[] Tensors { get; } = tensors;

    /// <summary>Positions per row: the padded past (left-padded), or the slots' capacity.</summary>
    public int Length { get; } = length;

    /// <summary>A cache of uninitialised memory on the model's device (for a model that writes it before reading).</summary>
    public static KvTensors Allocate(DecoderModel model, int rows, int length)
    {
        var config = model.Config;
        return new KvTensors(
            [.. Enumerable.Range(0, 2 * config.Layers).Select(_ => OrtValue.CreateAllocatedTensorValue(model.Session.DeviceAllocator, model.KvType, [rows, config.KvHeads, length, config.HeadDim]))],
            length);
    }

    public void Dispose()
    {
        foreach (var tensor in Tensors)
        {
            tensor.Dispose();
        }
    }
}

/// <summary>Sequences on their way into a <see cref="DecodeBatch"/>: their padded prompts, how far they are
/// prefilled, and the cache of what is prefilled so far (native tensors, released on disposal).</summary>
public sealed class PendingJoin : IDisposable
{
    internal PendingJoin(List<BatchSequence> newcomers, List<BatchSequence> prefills, int[] prefillRow, int longest, long[] ids, long[] mask, long[] positions, KvTensors empty)
    {
        (Newcomers, Prefills, PrefillRow, Longest, Ids, Mask, Positions, Past) = (newcomers, prefills, prefillRow, longest, ids, mask, positions, empty);
        Slots = new KvTensors?[prefills.Count];
        Logits = new float[prefills.Count][];
    }

    public IReadOnlyList<BatchSequence> Newcomers { get; }

    internal List<BatchSequence> Prefills { get; }

    internal int[] PrefillRow { get; }

    internal int Longest { get; }

    internal long[] Ids { get; }

    internal long[] Mask { get; }

    internal long[] Positions { get; }

    /// <summary>Prompt positions prefilled so far (<see cref="CacheLayout.Slots"/>: of prefill <see cref="Next"/>).</summary>
    internal int Offset { get; set; }

    /// <summary><see cref="CacheLayout.LeftPadded"/>: the cache of the chunks prefilled so far, the next chunk's past.</summary>
    internal KvTensors Past { get; private set; }

    /// <summary><see cref="CacheLayout.Slots"/>: each prefill's cache (one shared by all when they are prefilled in one
    /// run), and its next-token logits once its prompt is done.</summary>
    internal KvTensors?[] Slots { get; }

    internal float[]?[] Logits { get; }

    /// <summary><see cref="CacheLayout.Slots"/>: the prefill being filled a chunk at a time.</summary>
    internal int Next { get; set; }

    /// <summary>Makes a chunk's presents the next chunk's past, releasing the previous past.</summary>
    internal void Advance(KvTensors presents)
    {
        Past.Dispose();
        Past = presents;
    }

    public void Dispose()
    {
        Past.Dispose();
        foreach (var slots in Slots.Distinct())
        {
            slots?.Dispose();
        }
    }
}

/// <summary>
/// Iteration-level batching over one model: sequences join between steps (their prompts prefilled together in chunks,
/// identical ones once), every step advances all of them by one token, and finished ones leave between steps, so a short
/// request never waits for a long one. The cache stays in the provider's memory (on CUDA, the device's) in one of two
/// layouts (<see cref="DecoderModel.Layout"/>):
/// <list type="bullet">
/// <item><see cref="CacheLayout.LeftPadded"/> (optimum exports): one tensor per layer's keys and values [batch, kv_heads,
/// past, head_dim], each row's positions at its end; padding is masked with attention_mask, and position_ids carry each
/// row's true positions. A step binds the previous step's presents straight back as past.</item>
/// <item><see cref="CacheLayout.Slots"/> (GroupQueryAttention): each row's positions from index 0 of a slot with room
/// for the steps ahead, bound as both past and present so the model writes each new position in place.</item>
/// </list>
/// Only joining, leaving and a slot cache growing build a new cache, through <see cref="DeviceCopy"/> on the provider.
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
    private readonly DeviceCopy _copy = new(model);
    private readonly bool _slotted = model.Layout == CacheLayout.Slots;
    private KvTensors? _cache;

    /// <summary>The sequences still generating.</summary>
    public IReadOnlyList<BatchSequence> Sequences => _rows.Where(r => !_finished.Contains(r)).ToList();

    /// <summary>Rows of finished sequences still in the cache, awaiting compaction.</summary>
    public int FinishedRows => _finished.Count;

    /// <summary>On CUDA: bytes the model's runs moved between host and device so far (<see cref="ModelRun.HostBytes"/>).</summary>
    public long HostBytes => _run.HostBytes;

    /// <summary>Positions per row in the cache: the longest cached row (left-padded), or the slots' capacity.</summary>
    public int PastLength => _cache?.Length ?? 0;

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

        return new PendingJoin([.. newcomers], prefills, prefillRow, longest, ids, mask, positions, KvTensors.Allocate(model, prefills.Count, 0));
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

        using var outputs = Run(batch, length, chunkIds, chunkMask, chunkPositions, join.Past, withLogits: last, logitsOnDevice: true);
        join.Offset += length;
        join.Advance(TakePresents(outputs, offset + length)); // this chunk's presents are the next one's past
        if (!last)
        {
            return null;
        }

        var prefillLogits = PickLogits(outputs, [.. Enumerable.Range(0, batch).Select(b => (long)b * length + length - 1)]);
        var logits = new float[join.Newcomers.Count][];
        for (var n = 0; n < logits.Length; n++)
        {
            logits[n] = Shared(prefillLogits, join, n);
        }

        // The running rows (their cache) and the newcomers (the prefill's) in one left-padded cache as long as the
        // longest row; rows of finished sequences are left out here.
        var staying = Staying();
        var sources = new List<CacheRows>(2);
        if (staying.Count > 0)
        {
            sources.Add(new CacheRows(_cache!.Tensors, [.. staying.Select(r => r.Row)], _cache.Length));
        }

        sources.Add(new CacheRows(join.Past.Tensors, join.PrefillRow, longest));
        var past = Math.Max(staying.Select(r => r.Sequence.Cached).DefaultIfEmpty(0).Max(), longest);
        Adopt(sources, past, staying, join.Newcomers);
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
            var shared = KvTensors.Allocate(model, count, join.Longest);
            Array.Fill(join.Slots, shared);
            using var outputs = Run(count, join.Longest, join.Ids, join.Mask, join.Positions, shared, withLogits: true, inPlace: true, logitsOnDevice: true);
            var rows = PickLogits(outputs, [.. Enumerable.Range(0, count).Select(n => (long)n * join.Longest + join.Prefills[n].Prompt.Count - 1)]);
            rows.CopyTo(join.Logits, 0);

            join.Next = count;
        }
        else
        {
            var n = join.Next;
            var prompt = join.Prefills[n].Prompt;
            var cache = join.Slots[n] ??= KvTensors.Allocate(model, 1, prompt.Count);
            var offset = join.Offset;
            var length = Math.Min(Math.Max(MinPrefillChunk, queryTokens), prompt.Count - offset);
            var ids = new long[length];
            for (var s = 0; s < length; s++)
            {
                ids[s] = prompt[offset + s];
            }

            var mask = new long[offset + length];
            Array.Fill(mask, 1L);
            var last = offset + length == prompt.Count;
            using var outputs = Run(1, length, ids, mask, new long[length], cache, withLogits: last, inPlace: true, logitsOnDevice: true);
            join.Offset += length;
            if (last)
            {
                join.Logits[n] = PickLogits(outputs, [length - 1])[0];
                (join.Next, join.Offset) = (n + 1, 0);
            }
        }

        if (join.Next < count)
        {
            return null;
        }

        var logits = new float[join.Newcomers.Count][];
        for (var n = 0; n < logits.Length; n++)
        {
            logits[n] = Shared(join.Logits!, join, n);
        }

        // The running rows, then the newcomers grouped by the cache they were prefilled in, with room to step on.
        var staying = Staying();
        var sources = new List<CacheRows>();
        if (staying.Count > 0)
        {
            sources.Add(new CacheRows(_cache!.Tensors, [.. staying.Select(r => r.Row)], _cache.Length));
        }

        var order = new List<BatchSequence>(join.Newcomers.Count);
        foreach (var cache in join.Slots.Distinct())
        {
            var rows = new List<int>();
            for (var n = 0; n < join.Newcomers.Count; n++)
            {
                if (join.Slots[join.PrefillRow[n]] == cache)
                {
                    rows.Add(cache!.Tensors[0].GetTensorTypeAndShape().Shape[0] == 1 ? 0 : join.PrefillRow[n]);
                    order.Add(join.Newcomers[n]);
                }
            }

            sources.Add(new CacheRows(cache!.Tensors, rows, cache.Length));
        }

        var needed = Math.Max(staying.Select(r => r.Sequence.Cached).DefaultIfEmpty(0).Max(), join.Longest) + 1;
        Adopt(sources, Math.Max(_cache?.Length ?? 0, SlotCapacity(needed)), staying, order);
        return logits;
    }

    /// <summary>A newcomer's logits: its prefill's, copied when several newcomers share the prefill (a sampler may
    /// scale logits in place).</summary>
    private static float[] Shared(float[]?[] prefillLogits, PendingJoin join, int n) =>
        join.Prefills[join.PrefillRow[n]] == join.Newcomers[n] ? prefillLogits[join.PrefillRow[n]]! : (float[])prefillLogits[join.PrefillRow[n]]!.Clone();

    private List<(BatchSequence Sequence, int Row)> Staying() =>
        _rows.Select((s, row) => (Sequence: s, Row: row)).Where(r => !_finished.Contains(r.Sequence)).ToList();

    /// <summary>Makes the cache built from <paramref name="sources"/> the batch's, its rows the staying ones and then
    /// <paramref name="newcomers"/>, whose prompts are cached now.</summary>
    private void Adopt(List<CacheRows> sources, int length, List<(BatchSequence Sequence, int Row)> staying, IReadOnlyList<BatchSequence> newcomers)
    {
        Replace(_copy.Cache(sources, length));
        _rows.Clear();
        _rows.AddRange(staying.Select(r => r.Sequence));
        _finished.Clear();
        foreach (var sequence in newcomers)
        {
            sequence.Cached = sequence.Prompt.Count;
            _rows.Add(sequence);
        }
    }

    /// <summary>Room for <paramref name="needed"/> positions and some steps more (a quarter, at least 64), so the cache
    /// is copied to a larger one rarely; never beyond the model's context.</summary>
    private int SlotCapacity(int needed) =>
        Math.Max(needed, Math.Min(Config.MaxPositions, (needed + Math.Max(64, needed / 4) + 63) / 64 * 64));

    /// <summary>Feeds every sequence its last chosen token; returns the logits for the next token of each sequence still
    /// generating (rows of finished ones are computed until compaction, and ignored).</summary>
    public IReadOnlyList<(BatchSequence Sequence, float[] Logits)> Step()
    {
        var batch = _rows.Count;
        if (batch == _finished.Count)
        {
            return [];
        }

        // Left-padded, the cache grows by one position for every row and each row's ones end at the new position; in
        // slots, each row's mask counts its own positions (the model writes the new one at that row's length), finished
        // rows do not advance, and the slots are copied to longer ones when the longest row reaches their end.
        var width = _slotted ? _rows.Max(r => r.Cached) + 1 : _cache!.Length + 1;
        if (_slotted && width > _cache!.Length)
        {
            var length = SlotCapacity(width);
            Replace(_copy.Cache([new CacheRows(_cache.Tensors, [.. Enumerable.Range(0, batch)], _cache.Length)], length));
        }

        var ids = new long[batch];
        var mask = new long[batch * width];
        var positions = new long[batch];
        for (var b = 0; b < batch; b++)
        {
            var row = _rows[b];
            ids[b] = row.NextInput;
            positions[b] = row.Cached;
            mask.AsSpan(b * width + (_slotted ? 0 : width - 1 - row.Cached), row.Cached + 1).Fill(1);
        }

        using var outputs = Run(batch, 1, ids, mask, positions, _cache!, withLogits: true, inPlace: _slotted);
        var logits = LastLogits(outputs, batch, 1);
        if (!_slotted)
        {
            Replace(TakePresents(outputs, width));
        }

        var live = new List<(BatchSequence, float[])>(batch - _finished.Count);
        for (var b = 0; b < batch; b++)
        {
            if (!_finished.Contains(_rows[b]))
            {
                _rows[b].Cached++;
                live.Add((_rows[b], logits[b]));
            }
            else if (!_slotted)
            {
                _rows[b].Cached++; // its positions stay aligned with the cache's end
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

        var remaining = Staying();
        if (remaining.Count == 0)
        {
            Replace(null);
            _rows.Clear();
            _finished.Clear();
            return;
        }

        if (_finished.Count * 4 < _rows.Count)
        {
            return;
        }

        var length = _slotted ? _cache!.Length : remaining.Max(r => r.Sequence.Cached);
        Replace(_copy.Cache([new CacheRows(_cache!.Tensors, [.. remaining.Select(r => r.Row)], _cache.Length)], length));
        _rows.Clear();
        _rows.AddRange(remaining.Select(r => r.Sequence));
        _finished.Clear();
    }

    /// <summary>
    /// One model run: <paramref name="pasts"/> as the past; with <paramref name="inPlace"/> (slots) the presents are
    /// written into those same tensors, else they come back on the device (<see cref="TakePresents"/>). Logits, when
    /// asked for, come back to the host, or stay on the device for <see cref="PickLogits"/> (a prefill needs one
    /// position of each row).
    /// </summary>
    private RunOutputs Run(int batch, int length, long[] ids, long[] mask, long[] positions, KvTensors pasts, bool withLogits, bool inPlace = false, bool logitsOnDevice = false)
    {
        using var idsTensor = Tensors.Of<long>(ids, batch, length);
        using var maskTensor = Tensors.Of<long>(mask, batch, mask.Length / batch);
        using var positionsTensor = Tensors.Of<long>(positions, batch, length);
        var names = model.Names;
        var inputs = new List<(string, OrtValue)>(3 + pasts.Tensors.Length) { (names.InputIds, idsTensor), (names.AttentionMask, maskTensor) };
        if (model.HasPositionIds)
        {
            inputs.Add((names.PositionIds, positionsTensor));
        }

        var into = new List<(string, OrtValue)>(inPlace ? pasts.Tensors.Length : 0);
        for (var i = 0; i < pasts.Tensors.Length; i++)
        {
            inputs.Add((model.PastNames[i], pasts.Tensors[i]));
            if (inPlace)
            {
                into.Add((model.PresentNames[i], pasts.Tensors[i]));
            }
        }

        string[] outputs = inPlace ? (withLogits ? [names.Logits] : []) : withLogits ? model.OutputNames : model.PresentNames;
        var onDevice = (inPlace ? 0 : model.PresentNames.Length) + (withLogits && logitsOnDevice ? 1 : 0);
        return _run.Run(CollectionsMarshal.AsSpan(inputs), outputs, CollectionsMarshal.AsSpan(into), onDevice);
    }

    private KvTensors TakePresents(RunOutputs outputs, int length) => new([.. model.PresentNames.Select(outputs.Take)], length);

    /// <summary>Logits at <paramref name="positions"/> (flattened over batch and sequence) of logits kept on the
    /// device, as float32 on the host.</summary>
    private float[][] PickLogits(RunOutputs outputs, long[] positions)
    {
        using var logits = outputs.Take(model.Names.Logits);
        return _copy.Rows(logits, positions);
    }

    /// <summary>Each row's logits at its last position, as float32 whatever the model's precision.</summary>
    private float[][] LastLogits(RunOutputs outputs, int batch, int length)
    {
        var vocab = (int)outputs.ShapeOf(model.Names.Logits)[2];
        return outputs.GetSingles(model.Names.Logits, (long)(length - 1) * vocab, batch, vocab, (long)length * vocab);
    }

    private void Replace(KvTensors? cache)
    {
        _cache?.Dispose();
        _cache = cache;
    }

    public void Dispose()
    {
        Replace(null);
        _copy.Dispose();
        _run.Dispose();
    }
}
