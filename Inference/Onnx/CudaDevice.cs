using System.Runtime.InteropServices;

namespace CustomerGrains.Inference.Onnx;

/// <summary>
/// A CUDA device's free and total memory as the CUDA runtime reports them (cudaMemGetInfo), for the KV-cache budget's
/// default and the GPU benchmark's report. ONNX Runtime's C# API does not expose device memory, so the runtime library
/// its CUDA provider loads (libcudart.so.13) is asked directly; null where there is none or it cannot answer.
/// </summary>
public static class CudaDevice
{
    public static unsafe (long Free, long Total)? Memory(int deviceId)
    {
        if (!NativeLibrary.TryLoad("libcudart.so.13", out var runtime)
            || !NativeLibrary.TryGetExport(runtime, "cudaSetDevice", out var setDevice)
            || !NativeLibrary.TryGetExport(runtime, "cudaMemGetInfo", out var memGetInfo))
        {
            return null;
        }

        nuint free, total;
        return ((delegate* unmanaged[Cdecl]<int, int>)setDevice)(deviceId) == 0
            && ((delegate* unmanaged[Cdecl]<nuint*, nuint*, int>)memGetInfo)(&free, &total) == 0
                ? ((long)free, (long)total)
                : null;
    }
}
