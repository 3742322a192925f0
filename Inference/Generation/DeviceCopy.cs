using System.Runtime.InteropServices;
using CustomerGrains.Inference.Onnx;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace CustomerGrains.Inference.Generation;

/// <summary>Rows of a KV cache to copy: one tensor per layer's keys and values (key 0, value 0, key 1, ...), each
/// [rows, kv_heads, <paramref name="Length"/>, head_dim], and which of its rows, in order.</summary>
internal readonly record struct CacheRows(IReadOnlyList<OrtValue> Tensors, IReadOnlyList<int> Rows, int Length);

/// <summary>
/// Copies on the model's provider, with ONNX Runtime itself, so that on CUDA nothing passes through the host that need
/// not: a new KV cache from rows of others (a batch's running rows and a join's prefilled ones, the rows that stay after
/// others left, every row into a longer cache), and the rows of a prefill's logits that sampling reads (each prompt's
/// last position, not all of them: 2,048 positions of Qwen's 151,936-token vocabulary are 1.2 GB). Small graphs made
/// here and opened beside the model (<see cref="ModelSession.OpenGraph"/>): for each cache tensor, Concat over the
/// sources of Pad(Slice(Gather(source, rows))), one graph per number of sources; for logits, Gather over the flattened
/// positions. Cache positions are kept at the end of each row (<see cref="CacheLayout.LeftPadded"/>: padding goes
/// before) or at its start (<see cref="CacheLayout.Slots"/>: room goes after); the new positions are zeros.
/// </summary>
internal sealed class DeviceCopy(DecoderModel model) : IDisposable
{
    private readonly Dictionary<string, (ModelSession Session, ModelRun Run)> _graphs = [];

    private int Tensors => 2 * model.Config.Layers;

    /// <summary>
    /// ONNX Runtime's CPU Pad has no bfloat16 kernel; the copy only moves elements and pads with zeros, whose bits are
    /// the same in float16, so a bfloat16 cache goes through the graph as float16 views of its memory.
    /// </summary>
    private TensorElementType GraphType => model.KvType == TensorElementType.BFloat16 ? TensorElementType.Float16 : model.KvType;

    /// <summary>The rows of <paramref name="sources"/>, in order, in a new cache of <paramref name="length"/> positions
    /// in <see cref="ModelSession.DeviceMemory"/>, which the caller owns.</summary>
    public KvTensors Cache(IReadOnlyList<CacheRows> sources, int length)
    {
        var run = Graph($"kv-cache-copy-{sources.Count}", () => CacheGraph(sources.Count));
        var alignEnd = model.Layout == CacheLayout.LeftPadded;
        var target = KvTensors.Allocate(model, sources.Sum(s => s.Rows.Count), length);
        var owned = new List<OrtValue>(sources.Count * 4);
        var inputs = new List<(string, OrtValue)>(sources.Count * (Tensors + 4));
        var into = new List<(string, OrtValue)>(Tensors);
        try
        {
            for (var j = 0; j < sources.Count; j++)
            {
                var source = sources[j];
                var keep = Math.Min(source.Length, length);
                var pads = new long[8];
                pads[alignEnd ? 2 : 6] = length - keep; // [begin of each axis, end of each axis]: axis 2 is positions
                var rows = new long[source.Rows.Count];
                for (var r = 0; r < rows.Length; r++)
                {
                    rows[r] = source.Rows[r];
                }

                owned.Add(Onnx.Tensors.Of<long>(rows, rows.Length));
                owned.Add(Onnx.Tensors.Of<long>([alignEnd ? source.Length - keep : 0], 1));
                owned.Add(Onnx.Tensors.Of<long>([alignEnd ? source.Length : keep], 1));
                owned.Add(Onnx.Tensors.Of<long>(pads, 8));
                inputs.Add(($"rows_{j}", owned[^4]));
                inputs.Add(($"starts_{j}", owned[^3]));
                inputs.Add(($"ends_{j}", owned[^2]));
                inputs.Add(($"pads_{j}", owned[^1]));
                for (var i = 0; i < Tensors; i++)
                {
                    inputs.Add(($"source_{j}_{i}", AsGraphType(source.Tensors[i], owned)));
                }
            }

            for (var i = 0; i < Tensors; i++)
            {
                into.Add(($"cache_{i}", AsGraphType(target.Tensors[i], owned)));
            }

            using var outputs = run.Run(CollectionsMarshal.AsSpan(inputs), [], CollectionsMarshal.AsSpan(into));
            return target;
        }
        catch
        {
            target.Dispose();
            throw;
        }
        finally
        {
            foreach (var tensor in owned)
            {
                tensor.Dispose();
            }
        }
    }

    /// <summary>The tensor itself, or a view of its memory as <see cref="GraphType"/> (released with
    /// <paramref name="owned"/>; the memory stays the tensor's).</summary>
    private unsafe OrtValue AsGraphType(OrtValue tensor, List<OrtValue> owned)
    {
        if (GraphType == model.KvType)
        {
            return tensor;
        }

        var shape = tensor.GetTensorTypeAndShape().Shape;
        var bytes = tensor.GetTensorMutableRawData();
        OrtValue view;
        if (bytes.IsEmpty)
        {
            view = Onnx.Tensors.Allocate(GraphType, shape);
        }
        else
        {
            fixed (byte* data = bytes)
            {
                view = OrtValue.CreateTensorValueWithData(model.Session.DeviceMemory, GraphType, shape, (nint)data, bytes.Length);
            }
        }

        owned.Add(view);
        return view;
    }

    /// <summary>The graph of that name, made and opened beside the model on first use.</summary>
    private ModelRun Graph(string name, Func<OnnxModel> make)
    {
        if (!_graphs.TryGetValue(name, out var graph))
        {
            var session = ModelSession.OpenGraph(make(), model.Session);
            _graphs[name] = graph = (session, new ModelRun(session));
        }

        return graph.Run;
    }

    /// <summary>Rows of logits [batch, sequence, vocabulary] at flattened positions, in the logits' own type.</summary>
    private OnnxModel LogitsGraph()
    {
        var type = (OnnxType)(int)model.Session.Outputs[model.Names.Logits].ElementDataType;
        var pick = new OnnxModel("logits-rows");
        pick.Input("logits", type, "batch", "sequence", "vocabulary");
        pick.Input("positions", OnnxType.Int64, "rows");
        pick.Node("Gather", [pick.Op("Flatten", ["logits"], ("axis", 2L)), "positions"], ["rows"], ("axis", 0L));
        pick.Output("rows", type, "rows", "vocabulary");
        return pick;
    }

    /// <summary>Every cache tensor built from <paramref name="sources"/> sources' rows.</summary>
    private OnnxModel CacheGraph(int sources)
    {
        var cacheType = (OnnxType)(int)GraphType; // ONNX's element type numbers, which TensorElementType shares
        var config = model.Config;
        var m = new OnnxModel($"kv-cache-copy-{sources}");
        var axes = m.Initializer("positions_axis", new long[] { 2 }, 1);
        for (var j = 0; j < sources; j++)
        {
            m.Input($"rows_{j}", OnnxType.Int64, $"rows_{j}");
            m.Input($"starts_{j}", OnnxType.Int64, 1);
            m.Input($"ends_{j}", OnnxType.Int64, 1);
            m.Input($"pads_{j}", OnnxType.Int64, 8);
        }

        for (var i = 0; i < Tensors; i++)
        {
            var parts = new string[sources];
            for (var j = 0; j < sources; j++)
            {
                m.Input($"source_{j}_{i}", cacheType, $"batch_{j}", config.KvHeads, $"length_{j}", config.HeadDim);
                var rows = m.Op("Gather", [$"source_{j}_{i}", $"rows_{j}"], ("axis", 0L));
                parts[j] = m.Op("Pad", m.Op("Slice", rows, $"starts_{j}", $"ends_{j}", axes), $"pads_{j}");
            }

            m.Node("Concat", parts, [$"cache_{i}"], ("axis", 0L));
            m.Output($"cache_{i}", cacheType, "rows", config.KvHeads, "length", config.HeadDim);
        }

        return m;
    }

    /// <summary>Rows <paramref name="positions"/> of <paramref name="logits"/> [batch, sequence, vocabulary] (flattened
    /// over batch and sequence), as float32 on the host.</summary>
    public float[][] Rows(OrtValue logits, long[] positions)
    {
        var run = Graph("logits-rows", LogitsGraph);
        using var index = Onnx.Tensors.Of<long>(positions, positions.Length);
        using var outputs = run.Run([("logits", logits), ("positions", index)], ["rows"]);
        var vocab = (int)outputs.ShapeOf("rows")[1];
        return outputs.GetSingles("rows", 0, positions.Length, vocab, vocab);
    }

    public void Dispose()
    {
        foreach (var (session, run) in _graphs.Values)
        {
            run.Dispose();
            session.Dispose();
        }

        _graphs.Clear();
    }
}
