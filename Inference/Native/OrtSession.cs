using System.Runtime.InteropServices;

namespace CustomerGrains.Inference.Native;

/// <summary>An input for <see cref="OrtSession.Run"/>: a name and a tensor of any element type.</summary>
public readonly record struct OrtInput(string Name, nint Value)
{
    public static OrtInput Of<T>(string name, OrtTensor<T> tensor)
        where T : unmanaged => new(name, tensor.Handle);
}

/// <summary>A loaded model. <see cref="Run"/> is thread-safe (ONNX Runtime allows concurrent runs on one session).</summary>
public sealed unsafe class OrtSession : IDisposable
{
    private readonly OrtRuntime _runtime;
    private readonly Dictionary<string, byte[]> _names = new(StringComparer.Ordinal); // pinned UTF-8 copies for Run
    private readonly OrtHandle _session;

    internal OrtSession(OrtRuntime runtime, nint session, string executionProvider, string? fallbackReason)
    {
        _runtime = runtime;
        _session = new OrtHandle(session, runtime.Api.ReleaseSession, dependsOn: runtime.Environment);
        ExecutionProvider = executionProvider;
        FallbackReason = fallbackReason;
        Inputs = ReadInfos(input: true);
        Outputs = ReadInfos(input: false);
        foreach (var info in Inputs.Concat(Outputs))
        {
            var utf8 = System.Text.Encoding.UTF8.GetBytes(info.Name + "\0");
            var pinned = GC.AllocateArray<byte>(utf8.Length, pinned: true);
            utf8.CopyTo(pinned, 0);
            _names[info.Name] = pinned;
        }
    }

    public IReadOnlyList<TensorInfo> Inputs { get; }

    public IReadOnlyList<TensorInfo> Outputs { get; }

    /// <summary>The provider running this session: "cpu" or "cuda".</summary>
    public string ExecutionProvider { get; }

    /// <summary>Why this session runs on CPU though CUDA was configured (only with Inference:FallbackToCpu).</summary>
    public string? FallbackReason { get; }

    private OrtApi Api => _runtime.Api;

    /// <summary>Runs the model; returns the requested outputs (all of them when <paramref name="outputNames"/> is null).</summary>
    public OrtOutputs Run(ReadOnlySpan<OrtInput> inputs, IReadOnlyList<string>? outputNames = null)
    {
        var outputs = outputNames ?? Outputs.Select(o => o.Name).ToArray();
        var inputNames = stackalloc byte*[inputs.Length];
        var inputValues = stackalloc nint[inputs.Length];
        for (var i = 0; i < inputs.Length; i++)
        {
            inputNames[i] = NameOf(inputs[i].Name, "input");
            inputValues[i] = inputs[i].Value;
        }

        var names = new byte*[outputs.Count];
        var values = new nint[outputs.Count];
        for (var i = 0; i < outputs.Count; i++)
        {
            names[i] = NameOf(outputs[i], "output");
        }

        fixed (byte** outputNamePointers = names)
        fixed (nint* outputValues = values)
        {
            Api.Check(Api.Run(_session.Pointer, 0, inputNames, inputValues, (nuint)inputs.Length, outputNamePointers, (nuint)outputs.Count, outputValues));
        }

        return new OrtOutputs(_runtime, outputs, values);
    }

    private byte* NameOf(string name, string kind) =>
        _names.TryGetValue(name, out var pinned)
            ? (byte*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(pinned))
            : throw new OrtException($"The model has no {kind} named '{name}'; its {kind}s are {string.Join(", ", (kind == "input" ? Inputs : Outputs).Select(i => i.Name))}.");

    private TensorInfo[] ReadInfos(bool input)
    {
        nuint count;
        Api.Check(input ? Api.SessionGetInputCount(_session.Pointer, &count) : Api.SessionGetOutputCount(_session.Pointer, &count));
        nint allocator;
        Api.Check(Api.GetAllocatorWithDefaultOptions(&allocator));
        var infos = new TensorInfo[(int)count];
        for (nuint i = 0; i < count; i++)
        {
            byte* name;
            Api.Check(input ? Api.SessionGetInputName(_session.Pointer, i, allocator, &name) : Api.SessionGetOutputName(_session.Pointer, i, allocator, &name));
            var managedName = Marshal.PtrToStringUTF8((nint)name)!;
            Api.Check(Api.AllocatorFree(allocator, name));

            nint typeInfo;
            Api.Check(input ? Api.SessionGetInputTypeInfo(_session.Pointer, i, &typeInfo) : Api.SessionGetOutputTypeInfo(_session.Pointer, i, &typeInfo));
            try
            {
                nint tensorInfo; // owned by typeInfo
                Api.Check(Api.CastTypeInfoToTensorInfo(typeInfo, &tensorInfo));
                infos[(int)i] = tensorInfo == 0
                    ? new TensorInfo(managedName, OrtElementType.Undefined, [])
                    : new TensorInfo(managedName, ElementType(tensorInfo), Dimensions(tensorInfo));
            }
            finally
            {
                Api.ReleaseTypeInfo(typeInfo);
            }
        }

        return infos;
    }

    internal OrtElementType ElementType(nint tensorInfo)
    {
        OrtElementType type;
        Api.Check(Api.GetTensorElementType(tensorInfo, &type));
        return type;
    }

    internal long[] Dimensions(nint tensorInfo)
    {
        nuint rank;
        Api.Check(Api.GetDimensionsCount(tensorInfo, &rank));
        var dims = new long[(int)rank];
        fixed (long* d = dims)
        {
            Api.Check(Api.GetDimensions(tensorInfo, d, rank));
        }

        return dims;
    }

    public void Dispose()
    {
        _session.Dispose();
    }
}

/// <summary>A tensor ORT allocated (a run's output) and the caller now owns: it can be read, and fed back as an input.</summary>
public sealed unsafe class OrtValue : IDisposable
{
    private readonly OrtRuntime _runtime;
    private readonly OrtHandle _handle;

    internal OrtValue(OrtRuntime runtime, OrtHandle handle)
    {
        _runtime = runtime;
        _handle = handle;
    }

    internal nint Handle => _handle.Pointer;

    public OrtInput AsInput(string name) => new(name, Handle);

    /// <summary>The data, valid while this value lives.</summary>
    public ReadOnlySpan<T> Read<T>(out long[] shape)
        where T : unmanaged => OrtOutputs.Read<T>(_runtime, Handle, "value", out shape);

    public void Dispose() => _handle.Dispose();
}

/// <summary>The outputs of one run, owned by ORT until disposed.</summary>
public sealed unsafe class OrtOutputs : IDisposable
{
    private readonly OrtRuntime _runtime;
    private readonly IReadOnlyList<string> _names;
    private readonly OrtHandle?[] _values;

    internal OrtOutputs(OrtRuntime runtime, IReadOnlyList<string> names, nint[] values)
    {
        _runtime = runtime;
        _names = names;
        _values = values.Select(v => v == 0 ? null : new OrtHandle(v, runtime.Api.ReleaseValue, dependsOn: runtime.Environment)).ToArray();
    }

    /// <summary>The output's data, valid until this object is disposed.</summary>
    public ReadOnlySpan<T> Get<T>(string name, out long[] shape)
        where T : unmanaged => Read<T>(_runtime, (_values[IndexOf(name)] ?? throw new InvalidOperationException($"Output '{name}' was taken already.")).Pointer, name, out shape);

    /// <summary>Takes an output out of this collection: the caller owns (and disposes) it, e.g. to feed it back.</summary>
    public OrtValue Take(string name)
    {
        var index = IndexOf(name);
        var value = _values[index] ?? throw new InvalidOperationException($"Output '{name}' was taken already.");
        _values[index] = null;
        return new OrtValue(_runtime, value);
    }

    internal static ReadOnlySpan<T> Read<T>(OrtRuntime runtime, nint value, string name, out long[] shape)
        where T : unmanaged
    {
        var api = runtime.Api;
        nint info;
        api.Check(api.GetTensorTypeAndShape(value, &info));
        try
        {
            OrtElementType type;
            api.Check(api.GetTensorElementType(info, &type));
            if (type != OrtTensor<T>.ElementTypeOf())
            {
                throw new OrtException($"Output '{name}' holds {type}, not {typeof(T).Name}.");
            }

            nuint rank;
            api.Check(api.GetDimensionsCount(info, &rank));
            shape = new long[(int)rank];
            fixed (long* d = shape)
            {
                api.Check(api.GetDimensions(info, d, rank));
            }
        }
        finally
        {
            api.ReleaseTensorTypeAndShapeInfo(info);
        }

        long length = 1;
        foreach (var dim in shape)
        {
            length *= dim;
        }

        void* data;
        api.Check(api.GetTensorMutableData(value, &data));
        return new ReadOnlySpan<T>(data, checked((int)length));
    }

    private int IndexOf(string name)
    {
        for (var i = 0; i < _names.Count; i++)
        {
            if (_names[i] == name)
            {
                return i;
            }
        }

        throw new KeyNotFoundException($"No output '{name}' was requested.");
    }

    public void Dispose()
    {
        foreach (var value in _values)
        {
            value?.Dispose(); // taken ones are null: their new owner releases them
        }

        Array.Clear(_values);
    }
}
