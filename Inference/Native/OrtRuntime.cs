using System.Runtime.InteropServices;
using System.Text;

namespace CustomerGrains.Inference.Native;

/// <summary>A model input or output: its name, element type and shape (-1 where the dimension is dynamic).</summary>
public sealed record TensorInfo(string Name, OrtElementType ElementType, long[] Shape);

/// <summary>How a session runs.</summary>
public sealed record SessionSettings(
    string ExecutionProvider = SessionSettings.Cpu,
    int CudaDeviceId = 0,
    bool FallbackToCpu = false,
    int IntraOpThreads = 0,
    int InterOpThreads = 1,
    bool AllowSpinning = false)
{
    public const string Cpu = "cpu";
    public const string Cuda = "cuda";
}

/// <summary>
/// A loaded ONNX Runtime: the library, its environment and CPU memory description. One per process is enough;
/// sessions are opened from it.
/// </summary>
public sealed unsafe class OrtRuntime : IDisposable
{
    private const int LogWarning = 2;
    private const int GraphOptimizationAll = 99;
    private const int ArenaAllocator = 1;
    private const int DefaultMemory = 0;
    private readonly OrtHandle _env;
    private readonly OrtHandle _cpuMemory;

    private OrtRuntime(OrtApi api)
    {
        Api = api;
        nint env, memory;
        var id = "customergrains\0"u8;
        fixed (byte* logId = id)
        {
            api.Check(api.CreateEnv(LogWarning, logId, &env));
        }

        _env = new OrtHandle(env, api.ReleaseEnv);
        api.Check(api.CreateCpuMemoryInfo(ArenaAllocator, DefaultMemory, &memory));
        _cpuMemory = new OrtHandle(memory, api.ReleaseMemoryInfo, dependsOn: _env);
    }

    internal OrtApi Api { get; }

    internal nint CpuMemory => _cpuMemory.Pointer;

    internal OrtHandle Environment => _env;

    /// <summary>The library's version string, e.g. 1.30.0.</summary>
    public string Version => Api.Version;

    /// <summary>Loads the ONNX Runtime library at <paramref name="libraryPath"/>; throws <see cref="OrtException"/>
    /// saying why when it is missing, not ONNX Runtime, or older than the C API this binding needs.</summary>
    public static OrtRuntime Load(string libraryPath) => new(OrtApi.Load(libraryPath));

    /// <summary>Opens a model. Everything that can be wrong with the file or the provider is reported here, not at
    /// the first run.</summary>
    public OrtSession OpenSession(string modelPath, SessionSettings settings)
    {
        if (!File.Exists(modelPath))
        {
            throw new OrtException($"Model file '{modelPath}' does not exist.");
        }

        nint options;
        Api.Check(Api.CreateSessionOptions(&options));
        try
        {
            Api.Check(Api.SetGraphOptimizationLevel(options, GraphOptimizationAll));
            Api.Check(Api.SetIntraOpNumThreads(options, settings.IntraOpThreads));
            Api.Check(Api.SetInterOpNumThreads(options, settings.InterOpThreads));

            // ORT's threads busy-wait between steps by default: faster on a machine that only runs the model, but here
            // they would take the cores the gateway, the grains and PostgreSQL need.
            var spinning = settings.AllowSpinning ? "1\0"u8 : "0\0"u8;
            fixed (byte* key = "session.intra_op.allow_spinning\0"u8)
            fixed (byte* value = spinning)
            {
                Api.Check(Api.AddSessionConfigEntry(options, key, value));
            }
            var (provider, fallbackReason) = AddExecutionProvider(options, settings);
            nint session;
            var path = Encoding.UTF8.GetBytes(modelPath + "\0");
            fixed (byte* p = path)
            {
                Api.Check(Api.CreateSession(_env.Pointer, p, options, &session));
            }

            return new OrtSession(this, session, provider, fallbackReason);
        }
        finally
        {
            Api.ReleaseSessionOptions(options);
        }
    }

    /// <summary>A tensor over native memory of its own, which ORT reads without copying.</summary>
    public OrtTensor<T> CreateTensor<T>(ReadOnlySpan<long> shape)
        where T : unmanaged => new(this, shape);

    /// <summary>Registers the configured provider; returns the one that will run the model, and why it is not the
    /// configured one when CUDA was unavailable and fallback allowed.</summary>
    private (string Provider, string? FallbackReason) AddExecutionProvider(nint options, SessionSettings settings)
    {
        switch (settings.ExecutionProvider.ToLowerInvariant())
        {
            case SessionSettings.Cpu:
                return (SessionSettings.Cpu, null);
            case SessionSettings.Cuda:
                try
                {
                    nint cuda;
                    Api.Check(Api.CreateCudaProviderOptions(&cuda));
                    try
                    {
                        var key = "device_id\0"u8.ToArray();
                        var value = Encoding.UTF8.GetBytes(settings.CudaDeviceId.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\0");
                        fixed (byte* k = key)
                        fixed (byte* v = value)
                        {
                            var keys = stackalloc byte*[] { k };
                            var values = stackalloc byte*[] { v };
                            Api.Check(Api.UpdateCudaProviderOptions(cuda, keys, values, 1));
                        }

                        Api.Check(Api.AppendCudaV2(options, cuda));
                    }
                    finally
                    {
                        Api.ReleaseCudaProviderOptions(cuda);
                    }

                    return (SessionSettings.Cuda, null);
                }
                catch (OrtException ex) when (settings.FallbackToCpu)
                {
                    // Allowed by configuration only; the session reports "cpu" so nobody believes a GPU is in use.
                    return (SessionSettings.Cpu, $"CUDA execution provider unavailable ({ex.Message}); running on CPU.");
                }
                catch (OrtException ex)
                {
                    throw new OrtException($"Inference:ExecutionProvider is 'cuda' but ONNX Runtime {Version} cannot use CUDA: {ex.Message} " +
                        "Point Inference__OrtLibrary at a GPU build, or allow falling back to CPU (FallbackToCpu).");
                }
            default:
                throw new OrtException($"Unknown execution provider '{settings.ExecutionProvider}'; use 'cpu' or 'cuda'.");
        }
    }

    /// <summary>Releases the environment once every session and tensor made from it is released too.</summary>
    public void Dispose()
    {
        _cpuMemory.Dispose();
        _env.Dispose();
    }
}

/// <summary>A tensor over native memory it owns, handed to ORT without a copy and freed with the value.</summary>
/// <remarks>Not a pinned managed array: under load a background GC reclaimed such arrays while ORT was still reading
/// them (a segfault inside Run, reproduced with the tiny model at 48 concurrent requests). Native memory lives exactly
/// as long as the OrtValue over it.</remarks>
public sealed unsafe class OrtTensor<T> : IDisposable
    where T : unmanaged
{
    private readonly void* _data;
    private readonly int _length;
    private readonly OrtHandle _value;

    internal OrtTensor(OrtRuntime runtime, ReadOnlySpan<long> shape)
    {
        Shape = shape.ToArray();
        long length = 1;
        foreach (var dim in Shape)
        {
            length *= dim;
        }

        _length = checked((int)length);
        var bytes = (nuint)Math.Max(1, length * sizeof(T));
        var data = NativeMemory.AlignedAlloc(bytes, 64);
        nint value;
        try
        {
            fixed (long* dims = Shape)
            {
                runtime.Api.Check(runtime.Api.CreateTensorWithDataAsOrtValue(
                    runtime.CpuMemory, data, (nuint)(length * sizeof(T)), dims, (nuint)Shape.Length, ElementTypeOf(), &value));
            }
        }
        catch
        {
            NativeMemory.AlignedFree(data);
            throw;
        }

        _data = data;
        var release = runtime.Api.ReleaseValue;
        _value = new OrtHandle(value, v =>
        {
            release(v);
            NativeMemory.AlignedFree(data);
        }, dependsOn: runtime.Environment);
    }

    public long[] Shape { get; }

    /// <summary>The elements, uninitialised until written; valid until disposed.</summary>
    public Span<T> Data => !_value.IsClosed ? new Span<T>(_data, _length) : throw new ObjectDisposedException(nameof(OrtTensor<T>));

    internal nint Handle => _value.Pointer;

    internal static OrtElementType ElementTypeOf() =>
        typeof(T) == typeof(float) ? OrtElementType.Float
        : typeof(T) == typeof(long) ? OrtElementType.Int64
        : typeof(T) == typeof(int) ? OrtElementType.Int32
        : typeof(T) == typeof(bool) ? OrtElementType.Bool
        : typeof(T) == typeof(Half) ? OrtElementType.Float16
        : throw new NotSupportedException($"Tensors of {typeof(T).Name} are not supported.");

    public void Dispose() => _value.Dispose();
}
