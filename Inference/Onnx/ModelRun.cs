using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace CustomerGrains.Inference.Onnx;

/// <summary>
/// Runs a <see cref="ModelSession"/> through one reusable <see cref="OrtIoBinding"/>: inputs are bound as they are (an
/// earlier run's output can be bound as the next run's input, as a KV cache's present becomes its past, with no copy)
/// and ONNX Runtime allocates the outputs, in host memory (<see cref="ModelSession.HostMemory"/>: pinned on CUDA) or,
/// for those asked for on the device, in the provider's memory (<see cref="ModelSession.DeviceMemory"/>: on CUDA a KV
/// cache never passes through the host). Setting <see cref="Terminate"/> from any thread stops a run in progress
/// (<see cref="RunOptions.Terminate"/>). One caller at a time.
/// </summary>
public sealed class ModelRun(ModelSession model) : IDisposable
{
    private readonly OrtIoBinding _binding = model.Session.CreateIoBinding();
    private readonly RunOptions _options = new();
    private readonly bool _onDevice = model.Provider != SessionSettings.Cpu;
    private long _hostBytes;

    /// <summary>On a device (CUDA): the bytes runs moved between host and device so far, inputs bound from host memory
    /// and outputs bound to it. A KV cache kept on the device adds nothing here. 0 on CPU.</summary>
    public long HostBytes => Interlocked.Read(ref _hostBytes);

    /// <summary>Stops the run in progress, and refuses the next ones, with an <see cref="OnnxRuntimeException"/>.</summary>
    public void Terminate() => _options.Terminate = true;

    /// <summary>Runs the model on <paramref name="inputs"/>; returns <paramref name="outputs"/>, which the caller owns.
    /// Outputs in <paramref name="into"/> are written into the tensors given (a KV cache whose present is its past:
    /// the same tensor bound as input and output, written in place) and are not returned.</summary>
    /// <param name="onDevice">How many of <paramref name="outputs"/>, the last ones, stay in the device's memory.</param>
    public RunOutputs Run(ReadOnlySpan<(string Name, OrtValue Value)> inputs, IReadOnlyList<string> outputs, ReadOnlySpan<(string Name, OrtValue Value)> into = default, int onDevice = 0)
    {
        try
        {
            foreach (var (name, value) in inputs)
            {
                _binding.BindInput(name, value);
                if (_onDevice)
                {
                    using var memory = value.GetTensorMemoryInfo();
                    _hostBytes += memory.GetDeviceType() == OrtMemoryInfoDeviceType.CPU ? value.GetTensorSizeInBytes() : 0;
                }
            }

            for (var i = 0; i < outputs.Count; i++)
            {
                _binding.BindOutputToDevice(outputs[i], i < outputs.Count - onDevice ? model.HostMemory : model.DeviceMemory);
            }

            foreach (var (name, value) in into)
            {
                _binding.BindOutput(name, value);
            }

            model.Session.RunWithBinding(_options, _binding);
            // Not disposed: the collection would dispose the values in it, which the caller now owns. The handles of
            // the outputs written into given tensors come last and are released here (the tensors stay their owner's).
            var values = _binding.GetOutputValues().ToArray();
            foreach (var handle in values.AsSpan(outputs.Count))
            {
                handle.Dispose();
            }

            for (var i = 0; _onDevice && i < outputs.Count - onDevice; i++)
            {
                _hostBytes += values[i].GetTensorSizeInBytes();
            }

            return new RunOutputs(outputs, values[..outputs.Count]);
        }
        finally
        {
            // The binding holds references to the inputs and outputs until cleared; the caller owns them.
            _binding.ClearBoundInputs();
            _binding.ClearBoundOutputs();
        }
    }

    public void Dispose()
    {
        _binding.Dispose();
        _options.Dispose();
    }
}

/// <summary>The outputs of one run, by name. Disposing releases the ones not <see cref="Take">taken</see>.</summary>
public sealed class RunOutputs : IDisposable
{
    private readonly IReadOnlyList<string> _names;
    private readonly OrtValue?[] _values;

    internal RunOutputs(IReadOnlyList<string> names, OrtValue[] values)
    {
        _names = names;
        _values = values;
    }

    /// <summary>The output's data, valid until this object is disposed.</summary>
    public ReadOnlySpan<T> Get<T>(string name, out long[] shape)
        where T : unmanaged
    {
        var value = Value(name);
        shape = value.GetTensorTypeAndShape().Shape;
        return value.GetTensorDataAsSpan<T>();
    }

    public long[] ShapeOf(string name) => Value(name).GetTensorTypeAndShape().Shape;

    /// <summary>The output's bytes, whatever its element type, valid until this object is disposed.</summary>
    public ReadOnlySpan<byte> GetBytes(string name) => Value(name).GetTensorMutableRawData();

    /// <summary>Rows of a float output (float32, float16 or bfloat16) as float32: <paramref name="rows"/> rows of
    /// <paramref name="width"/> elements from element <paramref name="first"/> on, <paramref name="stride"/> apart.</summary>
    public float[][] GetSingles(string name, long first, int rows, int width, long stride)
    {
        var value = Value(name);
        var type = value.GetTensorTypeAndShape().ElementDataType;
        var result = new float[rows][];
        for (var r = 0; r < rows; r++)
        {
            // float32 by element (a prefill's logits may pass 2 GB: 2,048 positions of a 262,144-token vocabulary);
            // 16-bit types by their bytes, which stay under it.
            result[r] = type == TensorElementType.Float
                ? value.GetTensorDataAsSpan<float>().Slice(checked((int)(first + r * stride)), width).ToArray()
                : Tensors.ToSingles(type, value.GetTensorMutableRawData(), first + r * stride, width);
        }

        return result;
    }

    /// <summary>Takes an output out of this collection: the caller owns (and disposes) it, e.g. to feed it back.</summary>
    public OrtValue Take(string name)
    {
        var value = Value(name);
        _values[IndexOf(name)] = null;
        return value;
    }

    private OrtValue Value(string name) =>
        _values[IndexOf(name)] ?? throw new InvalidOperationException($"Output '{name}' was taken already.");

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

/// <summary>Tensors in memory ONNX Runtime allocates: native, so no garbage collection can move or reclaim them while a
/// run reads them (a background GC once reclaimed pinned arrays under load, a segfault inside Run).</summary>
public static class Tensors
{
    public static OrtValue Allocate<T>(params long[] shape)
        where T : unmanaged => Allocate(ElementType<T>(), shape);

    /// <summary>A tensor of any element type, e.g. a KV cache in the model's own precision.</summary>
    public static OrtValue Allocate(TensorElementType type, params long[] shape) =>
        OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, type, shape);

    /// <summary>The size of one element of a float type the decoders use.</summary>
    public static int SizeOf(TensorElementType type) => type switch
    {
        TensorElementType.Float => sizeof(float),
        TensorElementType.Float16 or TensorElementType.BFloat16 => sizeof(ushort),
        _ => throw new NotSupportedException($"Tensors of {type} are not supported."),
    };

    /// <summary><paramref name="count"/> elements of a float16 or bfloat16 tensor's bytes, from element
    /// <paramref name="first"/> on, as float32 (logits in a model's own precision, for sampling).</summary>
    public static float[] ToSingles(TensorElementType type, ReadOnlySpan<byte> bytes, long first, int count)
    {
        var source = bytes.Slice(checked((int)(first * sizeof(ushort))), count * sizeof(ushort));
        var destination = new float[count];
        switch (type)
        {
            case TensorElementType.Float16: // IEEE half, as System.Half
                System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, Half>(source), destination);
                break;
            case TensorElementType.BFloat16: // the upper half of a float32
                var halves = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(source);
                for (var i = 0; i < count; i++)
                {
                    destination[i] = BitConverter.Int32BitsToSingle(halves[i] << 16);
                }

                break;
            default:
                throw new NotSupportedException($"Tensors of {type} are not 16-bit floats.");
        }

        return destination;
    }

    /// <summary>A tensor holding a copy of <paramref name="data"/>.</summary>
    public static OrtValue Of<T>(ReadOnlySpan<T> data, params long[] shape)
        where T : unmanaged
    {
        var value = Allocate<T>(shape);
        data.CopyTo(value.GetTensorMutableDataAsSpan<T>());
        return value;
    }

    private static TensorElementType ElementType<T>() =>
        typeof(T) == typeof(float) ? TensorElementType.Float
        : typeof(T) == typeof(long) ? TensorElementType.Int64
        : typeof(T) == typeof(int) ? TensorElementType.Int32
        : throw new NotSupportedException($"Tensors of {typeof(T).Name} are not supported.");
}
