namespace CustomerGrains.Inference.Onnx;

/// <summary>How a model's session runs.</summary>
/// <param name="Provider"><see cref="Cpu"/> or <see cref="Cuda"/>.</param>
/// <param name="IntraOpThreads">Threads per step; 0 lets ONNX Runtime choose (one per core).</param>
/// <param name="AllowSpinning">Let ONNX Runtime's threads busy-wait between steps.</param>
/// <param name="CudaOptions">ONNX Runtime's CUDA provider options as it names them (arena_extend_strategy,
/// gpu_mem_limit, cudnn_conv_algo_search, ...), besides the device id.</param>
public sealed record SessionSettings(
    string Provider = SessionSettings.Cpu,
    int CudaDeviceId = 0,
    int IntraOpThreads = 0,
    int InterOpThreads = 1,
    bool AllowSpinning = false,
    IReadOnlyDictionary<string, string>? CudaOptions = null)
{
    public const string Cpu = "cpu";
    public const string Cuda = "cuda";
}

/// <summary>A model that cannot be opened as configured: a missing or corrupt file, or a provider that cannot run here.</summary>
public sealed class ModelLoadException(string message, Exception? innerException = null) : Exception(message, innerException);
