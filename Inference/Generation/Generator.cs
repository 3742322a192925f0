using CustomerGrains.Inference.Onnx;
using Microsoft.ML.OnnxRuntime;

namespace CustomerGrains.Inference.Generation;

/// <summary>The keys and values of one sequence for every layer, [1, kv_heads, length, head_dim] each, as the bytes of
/// the model's cache precision (<see cref="DecoderModel.KvType"/>).</summary>
public sealed class KvCache(int layers)
{
    public byte[][] Keys { get; } = new byte[layers][];

    public byte[][] Values { get; } = new byte[layers][];

    public int Length { get; set; }
}

/// <summary>Greedy decoding of one sequence, with or without the KV cache.</summary>
public sealed class Generator(DecoderModel model)
{
    /// <summary>Generates up to <paramref name="maxNewTokens"/> tokens after <paramref name="prompt"/>, stopping at
    /// end-of-sequence. With <paramref name="useCache"/> each step feeds only the newest token and the cached keys and
    /// values; without it each step recomputes the whole sequence (for checking the cache).</summary>
    public List<int> GenerateGreedy(IReadOnlyList<int> prompt, int maxNewTokens, bool useCache = true)
    {
        if (prompt.Count == 0)
        {
            throw new ArgumentException("The prompt is empty.");
        }

        var config = model.Config;
        if (prompt.Count + maxNewTokens > config.MaxPositions)
        {
            throw new ArgumentException($"The prompt of {prompt.Count} tokens plus {maxNewTokens} new tokens exceeds the model's context of {config.MaxPositions}.");
        }

        var tokens = new List<int>(prompt);
        var generated = new List<int>();
        var cache = new KvCache(config.Layers);
        for (var step = 0; step < maxNewTokens; step++)
        {
            var feed = useCache ? (step == 0 ? tokens : tokens.GetRange(tokens.Count - 1, 1)) : tokens;
            var logits = Forward(feed, useCache ? cache : new KvCache(config.Layers));
            var next = Sampler.ArgMax(logits);
            generated.Add(next);
            tokens.Add(next);
            if (config.EosTokenIds.Contains(next))
            {
                break;
            }
        }

        return generated;
    }

    /// <summary>Runs <paramref name="feed"/> after the cached positions; returns the last position's logits and
    /// extends <paramref name="cache"/> with the new keys and values.</summary>
    internal float[] Forward(IReadOnlyList<int> feed, KvCache cache)
    {
        var config = model.Config;
        var (past, length) = (cache.Length, feed.Count);
        var ids = feed.Select(id => (long)id).ToArray();
        var positions = Enumerable.Range(past, length).Select(p => (long)p).ToArray();
        var mask = Enumerable.Repeat(1L, past + length).ToArray();
        var tensors = new List<OrtValue> { Tensors.Of<long>(ids, 1, length), Tensors.Of<long>(mask, 1, past + length), Tensors.Of<long>(positions, 1, length) };
        var names = model.Names;
        var inputs = new List<(string, OrtValue)> { (names.InputIds, tensors[0]), (names.AttentionMask, tensors[1]) };
        if (model.HasPositionIds)
        {
            inputs.Add((names.PositionIds, tensors[2]));
        }

        try
        {
            for (var layer = 0; layer < config.Layers; layer++)
            {
                foreach (var (name, data) in new[] { (model.PastNames[2 * layer], cache.Keys[layer]), (model.PastNames[2 * layer + 1], cache.Values[layer]) })
                {
                    tensors.Add(Tensors.Allocate(model.KvType, 1, config.KvHeads, past, config.HeadDim));
                    (data ?? []).CopyTo(tensors[^1].GetTensorMutableRawData());
                    inputs.Add((name, tensors[^1]));
                }
            }

            using var run = new ModelRun(model.Session);
            using var outputs = run.Run(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(inputs), model.OutputNames);
            var vocab = (int)outputs.ShapeOf(names.Logits)[2];
            var last = outputs.GetSingles(names.Logits, (long)(length - 1) * vocab, 1, vocab, vocab)[0];
            for (var layer = 0; layer < config.Layers; layer++)
            {
                cache.Keys[layer] = outputs.GetBytes(model.PresentNames[2 * layer]).ToArray();
                cache.Values[layer] = outputs.GetBytes(model.PresentNames[2 * layer + 1]).ToArray();
            }

            cache.Length = past + length;
            return last;
        }
        finally
        {
            foreach (var tensor in tensors)
            {
                tensor.Dispose();
            }
        }
    }
}
