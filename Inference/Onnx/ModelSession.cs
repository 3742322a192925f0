using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;

namespace CustomerGrains.Inference.Onnx;

/// <summary>
/// An ONNX model opened with ONNX Runtime (<see cref="InferenceSession"/>) on the configured provider. Everything that can
/// be wrong with the file or the provider is reported when it opens, not at the first run; a model configured for CUDA
/// never runs on CPU instead.
/// </summary>
public sealed class ModelSession : IDisposable
{
    /// <summary>What the CUDA execution provider of ONNX Runtime 1.32 loads: CUDA 13 (driver, runtime, cuBLAS,
    /// cuRAND) and cuDNN 9, as readelf and the cuDNN frontend inside libonnxruntime_providers_cuda.so name them.</summary>
    private static readonly string[] CudaLibraries =
        ["libcuda.so.1", "libcudart.so.13", "libcublas.so.13", "libcublasLt.so.13", "libcurand.so.10", "libcudnn.so.9"];

    private ModelSession(InferenceSession session, string provider, SessionSettings settings)
    {
        Session = session;
        Provider = provider;
        Settings = settings;
        if (provider == SessionSettings.Cuda)
        {
            DeviceMemory = new OrtMemoryInfo(OrtMemoryInfo.allocatorCUDA, OrtAllocatorType.DeviceAllocator, settings.CudaDeviceId, OrtMemType.Default);
            DeviceAllocator = new OrtAllocator(session, DeviceMemory);
            HostMemory = new OrtMemoryInfo(OrtMemoryInfo.allocatorCUDA_PINNED, OrtAllocatorType.DeviceAllocator, settings.CudaDeviceId, OrtMemType.CpuOutput);
        }
        else
        {
            DeviceMemory = OrtMemoryInfo.DefaultInstance;
            DeviceAllocator = OrtAllocator.DefaultInstance;
            HostMemory = OrtMemoryInfo.DefaultInstance;
        }
    }

    public InferenceSession Session { get; }

    /// <summary>The provider the model really runs on: <see cref="SessionSettings.Cpu"/> or <see cref="SessionSettings.Cuda"/>.</summary>
    public string Provider { get; }

    /// <summary>How it was opened: graphs that work beside it (<see cref="OpenGraph"/>) run the same way.</summary>
    public SessionSettings Settings { get; }

    /// <summary>Where the provider computes: the CUDA device's memory, or the CPU's. A KV cache kept here is bound to
    /// the model's inputs and outputs with no copy through the host.</summary>
    public OrtMemoryInfo DeviceMemory { get; }

    /// <summary>Allocates tensors in <see cref="DeviceMemory"/>.</summary>
    public OrtAllocator DeviceAllocator { get; }

    /// <summary>Where outputs read on the host go: on CUDA, pinned host memory (the device copies into it directly);
    /// on CPU, the CPU's.</summary>
    public OrtMemoryInfo HostMemory { get; }

    public IReadOnlyDictionary<string, NodeMetadata> Inputs => Session.InputMetadata;

    public IReadOnlyDictionary<string, NodeMetadata> Outputs => Session.OutputMetadata;

    /// <summary>The ONNX Runtime version this process loaded, e.g. 1.32.0.</summary>
    public static string RuntimeVersion => OrtEnv.Instance().GetVersionString();

    /// <summary>Opens <paramref name="modelPath"/>; a <see cref="ModelLoadException"/> says why it cannot be.</summary>
    public static ModelSession Open(string modelPath, SessionSettings settings)
    {
        if (!File.Exists(modelPath))
        {
            throw new ModelLoadException($"Model file '{modelPath}' does not exist.");
        }

        return Open(modelPath, settings, options => new InferenceSession(modelPath, options));
    }

    /// <summary>Opens a graph built in memory (<see cref="OnnxModel"/>) to run on the same provider, with the same
    /// settings, as <paramref name="beside"/>.</summary>
    public static ModelSession OpenGraph(OnnxModel graph, ModelSession beside) =>
        Open(graph.Name, beside.Settings, options => new InferenceSession(graph.ToBytes(), options));

    private static ModelSession Open(string modelPath, SessionSettings settings, Func<SessionOptions, InferenceSession> create)
    {
        using var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            IntraOpNumThreads = settings.IntraOpThreads,
            InterOpNumThreads = settings.InterOpThreads,
        };

        // ORT's threads busy-wait between steps by default: faster on a machine that only runs the model, but here they
        // would take the cores the gateway, the grains and PostgreSQL need (onnxruntime_session_options_config_keys.h).
        var spinning = settings.AllowSpinning ? "1" : "0";
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", spinning);
        options.AddSessionConfigEntry("session.inter_op.allow_spinning", spinning);
        var provider = settings.Provider.ToLowerInvariant();
        switch (provider)
        {
            case SessionSettings.Cpu:
                break;
            case SessionSettings.Cuda:
                AddCuda(options, settings);
                break;
            default:
                throw new ModelLoadException($"Unknown execution provider '{settings.Provider}'; use 'cpu' or 'cuda'.");
        }

        try
        {
            return new ModelSession(create(options), provider, settings);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new ModelLoadException($"ONNX Runtime {RuntimeVersion} cannot load '{modelPath}': {ex.Message}", ex);
        }
    }

    /// <summary>Registers CUDA, or says exactly what is missing. ONNX Runtime loads the provider library lazily and only
    /// reports "Failed to load shared library", so the libraries it needs are looked for first, by name.</summary>
    private static void AddCuda(SessionOptions options, SessionSettings settings)
    {
        var deviceId = settings.CudaDeviceId;
        if (!OrtEnv.Instance().GetAvailableProviders().Contains("CUDAExecutionProvider"))
        {
            throw new ModelLoadException(
                $"A model is configured for cuda, but this build carries the CPU-only ONNX Runtime {RuntimeVersion}. " +
                "Build the GPU flavour (ORT_FLAVOR=cuda ./run.sh, or dotnet build -p:OrtFlavor=cuda).");
        }

        var missing = CudaLibraries.Where(library => !CanLoad(library)).ToList();
        if (missing.Count > 0)
        {
            throw new ModelLoadException(
                $"A model is configured for cuda, but {string.Join(", ", missing)} cannot be loaded: ONNX Runtime {RuntimeVersion} needs CUDA 13 and cuDNN 9 " +
                "on the library path (LD_LIBRARY_PATH or ldconfig).");
        }

        try
        {
            using var cuda = new OrtCUDAProviderOptions();
            var given = new Dictionary<string, string>(settings.CudaOptions ?? new Dictionary<string, string>()) { ["device_id"] = deviceId.ToString(System.Globalization.CultureInfo.InvariantCulture) };
            cuda.UpdateOptions(given);
            options.AppendExecutionProvider_CUDA(cuda);
        }
        catch (Exception ex) when (ex is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
        {
            throw new ModelLoadException($"ONNX Runtime {RuntimeVersion} cannot use CUDA device {deviceId}: {ex.Message}", ex);
        }
    }

    private static bool CanLoad(string library)
    {
        if (!NativeLibrary.TryLoad(library, out var handle))
        {
            return false;
        }

        NativeLibrary.Free(handle);
        return true;
    }

    public void Dispose()
    {
        if (Provider == SessionSettings.Cuda)
        {
            DeviceAllocator.Dispose();
            DeviceMemory.Dispose();
            HostMemory.Dispose();
        }

        Session.Dispose();
    }
}
