using System.Runtime.InteropServices;

namespace CustomerGrains.Inference.Onnx;

/// <summary>ONNX tensor element types (onnx.proto TensorProto.DataType).</summary>
public enum OnnxType
{
    Float = 1,
    UInt8 = 2,
    Int32 = 6,
    Int64 = 7,
    Bool = 9,
    Float16 = 10,
    BFloat16 = 16,
}

/// <summary>
/// Builds an ONNX model (onnx.proto: ModelProto, GraphProto, NodeProto, TensorProto, ValueInfoProto) and writes it.
/// Dimensions are numbers, or names for dynamic ones ("batch", "sequence").
/// </summary>
public sealed class OnnxModel
{
    private const long IrVersion = 8;
    private readonly List<ProtoWriter> _nodes = [];
    private readonly List<(string Name, OnnxType Type, byte[] Raw, long[] Dims)> _initializers = [];
    private readonly List<ProtoWriter> _inputs = [];
    private readonly List<ProtoWriter> _outputs = [];
    private int _nodeCount;
    private bool _usesContribOps;

    public OnnxModel(string name, int opset = 17)
    {
        Name = name;
        Opset = opset;
    }

    public string Name { get; }

    public int Opset { get; }

    public OnnxModel Input(string name, OnnxType type, params object[] dims)
    {
        _inputs.Add(ValueInfo(name, type, dims));
        return this;
    }

    public OnnxModel Output(string name, OnnxType type, params object[] dims)
    {
        _outputs.Add(ValueInfo(name, type, dims));
        return this;
    }

    public string Initializer(string name, float[] values, params long[] dims) =>
        AddInitializer(name, OnnxType.Float, MemoryMarshal.AsBytes(values.AsSpan()), dims);

    public string Initializer(string name, long[] values, params long[] dims) =>
        AddInitializer(name, OnnxType.Int64, MemoryMarshal.AsBytes(values.AsSpan()), dims);

    public string Initializer(string name, int[] values, params long[] dims) =>
        AddInitializer(name, OnnxType.Int32, MemoryMarshal.AsBytes(values.AsSpan()), dims);

    public string Initializer(string name, byte[] values, params long[] dims) =>
        AddInitializer(name, OnnxType.UInt8, values, dims);

    /// <summary>Raw little-endian bytes of any element type (e.g. float16 weights).</summary>
    public string Initializer(string name, OnnxType type, ReadOnlySpan<byte> raw, params long[] dims) =>
        AddInitializer(name, type, raw, dims);

    /// <summary>A node of ONNX Runtime's contrib domain (com.microsoft: GroupQueryAttention, MatMulNBits); the model
    /// then imports that domain too. Returns its first output's name.</summary>
    public string ContribNode(string op, string[] inputs, string[] outputs, params (string Name, object Value)[] attributes)
    {
        _usesContribOps = true;
        Node(op, inputs, outputs, attributes);
        _nodes[^1].String(7, "com.microsoft");
        return outputs[0];
    }

    /// <summary>Adds a node; returns its first output's name. Attribute values: long, float, long[], or string.</summary>
    public string Node(string op, string[] inputs, string[] outputs, params (string Name, object Value)[] attributes)
    {
        var node = new ProtoWriter();
        foreach (var input in inputs)
        {
            node.String(1, input);
        }

        foreach (var output in outputs)
        {
            node.String(2, output);
        }

        node.String(3, $"{op}_{_nodeCount++}").String(4, op);
        foreach (var (name, value) in attributes)
        {
            var attribute = new ProtoWriter().String(1, name);
            switch (value)
            {
                case float f:
                    attribute.Float(2, f).Varint(20, 1);
                    break;
                case long i:
                    attribute.Varint(3, i).Varint(20, 2);
                    break;
                case int i:
                    attribute.Varint(3, i).Varint(20, 2);
                    break;
                case string s:
                    attribute.String(4, s).Varint(20, 3);
                    break;
                case long[] ints:
                    foreach (var i in ints)
                    {
                        attribute.Varint(8, i);
                    }

                    attribute.Varint(20, 7);
                    break;
                default:
                    throw new ArgumentException($"Unsupported attribute value {value.GetType().Name} for {name}.");
            }

            node.Message(5, attribute);
        }

        _nodes.Add(node);
        return outputs[0];
    }

    /// <summary>A node with one output named after the op and a counter.</summary>
    public string Op(string op, params string[] inputs) => Node(op, inputs, [$"{op.ToLowerInvariant()}_{_nodeCount}"]);

    public string Op(string op, string[] inputs, params (string Name, object Value)[] attributes) =>
        Node(op, inputs, [$"{op.ToLowerInvariant()}_{_nodeCount}"], attributes);

    /// <summary>The model with every initializer inside it (protobuf caps that at 2 GB: see <see cref="Save"/>).</summary>
    public byte[] ToBytes() => Serialize(null);

    /// <summary>
    /// Writes the model. Past <paramref name="inlineUpTo"/> bytes of initializers (1 GiB), those over 1 KiB go to
    /// <c>{file}.data</c> beside it as ONNX external data (location, offset, length), as large exports ship (a 2 GB
    /// protobuf message cannot hold a 0.5B model in float32); ONNX Runtime reads them from beside the model file.
    /// </summary>
    public void Save(string path, long inlineUpTo = 1L << 30)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        if (_initializers.Sum(i => (long)i.Raw.Length) <= inlineUpTo)
        {
            File.WriteAllBytes(path, ToBytes());
            return;
        }

        var dataFile = Path.GetFileName(path) + ".data";
        using var data = File.Create(path + ".data");
        File.WriteAllBytes(path, Serialize(raw =>
        {
            var offset = data.Position;
            data.Write(raw);
            return (dataFile, offset);
        }));
    }

    /// <param name="external">Writes an initializer's bytes elsewhere and says where (file, offset); null: inline.</param>
    private byte[] Serialize(Func<byte[], (string File, long Offset)>? external)
    {
        var graph = new ProtoWriter();
        foreach (var node in _nodes)
        {
            graph.Message(1, node);
        }

        graph.String(2, Name);
        foreach (var (name, type, raw, dims) in _initializers)
        {
            var tensor = new ProtoWriter();
            foreach (var dim in dims)
            {
                tensor.Varint(1, dim);
            }

            tensor.Varint(2, (long)type).String(8, name);
            if (external is not null && raw.Length > 1024)
            {
                // TensorProto.external_data (13): key/value entries; data_location (14) EXTERNAL = 1.
                var (file, offset) = external(raw);
                foreach (var (key, value) in new[] { ("location", file), ("offset", offset.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("length", raw.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)) })
                {
                    tensor.Message(13, new ProtoWriter().String(1, key).String(2, value));
                }

                tensor.Varint(14, 1);
            }
            else
            {
                tensor.Bytes(9, raw); // raw_data is little-endian, as here
            }

            graph.Message(5, tensor);
        }

        foreach (var input in _inputs)
        {
            graph.Message(11, input);
        }

        foreach (var output in _outputs)
        {
            graph.Message(12, output);
        }

        var model = new ProtoWriter()
            .Varint(1, IrVersion)
            .String(2, "CustomerGrains.ModelMaker")
            .Message(7, graph)
            .Message(8, new ProtoWriter().String(1, "").Varint(2, Opset));
        if (_usesContribOps)
        {
            model.Message(8, new ProtoWriter().String(1, "com.microsoft").Varint(2, 1));
        }

        return model.ToArray();
    }

    private string AddInitializer(string name, OnnxType type, ReadOnlySpan<byte> raw, long[] dims)
    {
        _initializers.Add((name, type, raw.ToArray(), dims));
        return name;
    }

    private static ProtoWriter ValueInfo(string name, OnnxType type, object[] dims)
    {
        var shape = new ProtoWriter();
        foreach (var dim in dims)
        {
            shape.Message(1, dim is string symbolic ? new ProtoWriter().String(2, symbolic) : new ProtoWriter().Varint(1, Convert.ToInt64(dim, System.Globalization.CultureInfo.InvariantCulture)));
        }

        var tensorType = new ProtoWriter().Varint(1, (long)type).Message(2, shape);
        return new ProtoWriter().String(1, name).Message(2, new ProtoWriter().Message(1, tensorType));
    }
}
