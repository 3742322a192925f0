using System.Runtime.InteropServices;

namespace CustomerGrains.Inference.Native;

/// <summary>ONNX tensor element types (onnxruntime_c_api.h).</summary>
public enum OrtElementType
{
    Undefined = 0,
    Float = 1,
    Int32 = 6,
    Int64 = 7,
    Bool = 9,
    Float16 = 10,
}

/// <summary>An ONNX Runtime call failed; the message is ORT's own.</summary>
public sealed class OrtException(string message) : Exception(message);

/// <summary>
/// The ONNX Runtime C API function table, read through <c>OrtGetApiBase()-&gt;GetApi(version)</c>. The managed
/// ONNX Runtime packages are not in this project's package registry, so the binding is its own. Slot numbers are
/// the indexes of the function pointers in <c>OrtApi</c>, which is append-only (see shared/reference/ort-c-api.md).
/// </summary>
internal sealed unsafe class OrtApi
{
    /// <summary>The C API version asked for: ORT 1.16 has every slot used here.</summary>
    public const uint ApiVersion = 16;

    private readonly nint* _table;

    private OrtApi(nint* table, string version)
    {
        _table = table;
        Version = version;
    }

    public string Version { get; }

    /// <summary>Loads the library and its API table; a clear error when it cannot, or when it is too old.</summary>
    public static OrtApi Load(string libraryPath)
    {
        if (!File.Exists(libraryPath))
        {
            throw new OrtException(
                $"ONNX Runtime library not found at '{libraryPath}'. Run ./run.sh or ./test.sh once (they fetch it), or set Inference__OrtLibrary.");
        }

        var library = NativeLibrary.Load(libraryPath);
        if (!NativeLibrary.TryGetExport(library, "OrtGetApiBase", out var getApiBase))
        {
            throw new OrtException($"'{libraryPath}' is not an ONNX Runtime library: it has no OrtGetApiBase export.");
        }

        var apiBase = ((delegate* unmanaged[Cdecl]<nint*>)getApiBase)();
        var getApi = (delegate* unmanaged[Cdecl]<uint, nint*>)apiBase[0];
        var getVersion = (delegate* unmanaged[Cdecl]<byte*>)apiBase[1];
        var version = Marshal.PtrToStringUTF8((nint)getVersion()) ?? "unknown";
        var table = getApi(ApiVersion);
        if (table is null)
        {
            throw new OrtException($"ONNX Runtime {version} at '{libraryPath}' is too old: C API version {ApiVersion} (ONNX Runtime 1.{ApiVersion}) or later is needed.");
        }

        return new OrtApi(table, version);
    }

    private nint Slot(int index) => _table[index];

    /// <summary>Throws <see cref="OrtException"/> with ORT's message when <paramref name="status"/> is an error.</summary>
    public void Check(nint status)
    {
        if (status == 0)
        {
            return;
        }

        var message = Marshal.PtrToStringUTF8((nint)((delegate* unmanaged[Cdecl]<nint, byte*>)Slot(2))(status)) ?? "unknown error";
        ((delegate* unmanaged[Cdecl]<nint, void>)Slot(93))(status);
        throw new OrtException(message);
    }

    public nint CreateEnv(int logLevel, byte* logId, nint* env) => ((delegate* unmanaged[Cdecl]<int, byte*, nint*, nint>)Slot(3))(logLevel, logId, env);

    public nint CreateSession(nint env, byte* modelPath, nint options, nint* session) =>
        ((delegate* unmanaged[Cdecl]<nint, byte*, nint, nint*, nint>)Slot(7))(env, modelPath, options, session);

    public nint Run(nint session, nint runOptions, byte** inputNames, nint* inputs, nuint inputCount, byte** outputNames, nuint outputCount, nint* outputs) =>
        ((delegate* unmanaged[Cdecl]<nint, nint, byte**, nint*, nuint, byte**, nuint, nint*, nint>)Slot(9))(session, runOptions, inputNames, inputs, inputCount, outputNames, outputCount, outputs);

    public nint CreateSessionOptions(nint* options) => ((delegate* unmanaged[Cdecl]<nint*, nint>)Slot(10))(options);

    public nint SetGraphOptimizationLevel(nint options, int level) => ((delegate* unmanaged[Cdecl]<nint, int, nint>)Slot(23))(options, level);

    public nint SetIntraOpNumThreads(nint options, int threads) => ((delegate* unmanaged[Cdecl]<nint, int, nint>)Slot(24))(options, threads);

    public nint SetInterOpNumThreads(nint options, int threads) => ((delegate* unmanaged[Cdecl]<nint, int, nint>)Slot(25))(options, threads);

    public nint SessionGetInputCount(nint session, nuint* count) => ((delegate* unmanaged[Cdecl]<nint, nuint*, nint>)Slot(30))(session, count);

    public nint SessionGetOutputCount(nint session, nuint* count) => ((delegate* unmanaged[Cdecl]<nint, nuint*, nint>)Slot(31))(session, count);

    public nint SessionGetInputTypeInfo(nint session, nuint index, nint* typeInfo) => ((delegate* unmanaged[Cdecl]<nint, nuint, nint*, nint>)Slot(33))(session, index, typeInfo);

    public nint SessionGetOutputTypeInfo(nint session, nuint index, nint* typeInfo) => ((delegate* unmanaged[Cdecl]<nint, nuint, nint*, nint>)Slot(34))(session, index, typeInfo);

    public nint SessionGetInputName(nint session, nuint index, nint allocator, byte** name) => ((delegate* unmanaged[Cdecl]<nint, nuint, nint, byte**, nint>)Slot(36))(session, index, allocator, name);

    public nint SessionGetOutputName(nint session, nuint index, nint allocator, byte** name) => ((delegate* unmanaged[Cdecl]<nint, nuint, nint, byte**, nint>)Slot(37))(session, index, allocator, name);

    public nint CreateTensorWithDataAsOrtValue(nint memoryInfo, void* data, nuint bytes, long* shape, nuint shapeLength, OrtElementType type, nint* value) =>
        ((delegate* unmanaged[Cdecl]<nint, void*, nuint, long*, nuint, OrtElementType, nint*, nint>)Slot(49))(memoryInfo, data, bytes, shape, shapeLength, type, value);

    public nint GetTensorMutableData(nint value, void** data) => ((delegate* unmanaged[Cdecl]<nint, void**, nint>)Slot(51))(value, data);

    public nint CastTypeInfoToTensorInfo(nint typeInfo, nint* tensorInfo) => ((delegate* unmanaged[Cdecl]<nint, nint*, nint>)Slot(55))(typeInfo, tensorInfo);

    public nint GetTensorElementType(nint tensorInfo, OrtElementType* type) => ((delegate* unmanaged[Cdecl]<nint, OrtElementType*, nint>)Slot(60))(tensorInfo, type);

    public nint GetDimensionsCount(nint tensorInfo, nuint* count) => ((delegate* unmanaged[Cdecl]<nint, nuint*, nint>)Slot(61))(tensorInfo, count);

    public nint GetDimensions(nint tensorInfo, long* dims, nuint count) => ((delegate* unmanaged[Cdecl]<nint, long*, nuint, nint>)Slot(62))(tensorInfo, dims, count);

    public nint GetTensorTypeAndShape(nint value, nint* tensorInfo) => ((delegate* unmanaged[Cdecl]<nint, nint*, nint>)Slot(65))(value, tensorInfo);

    public nint CreateCpuMemoryInfo(int allocatorType, int memoryType, nint* memoryInfo) => ((delegate* unmanaged[Cdecl]<int, int, nint*, nint>)Slot(69))(allocatorType, memoryType, memoryInfo);

    public nint AllocatorFree(nint allocator, void* pointer) => ((delegate* unmanaged[Cdecl]<nint, void*, nint>)Slot(76))(allocator, pointer);

    public nint GetAllocatorWithDefaultOptions(nint* allocator) => ((delegate* unmanaged[Cdecl]<nint*, nint>)Slot(78))(allocator);

    public nint AddSessionConfigEntry(nint options, byte* key, byte* value) => ((delegate* unmanaged[Cdecl]<nint, byte*, byte*, nint>)Slot(130))(options, key, value);

    public void ReleaseEnv(nint env) => Release(92, env);

    public void ReleaseMemoryInfo(nint memoryInfo) => Release(94, memoryInfo);

    public void ReleaseSession(nint session) => Release(95, session);

    public void ReleaseValue(nint value) => Release(96, value);

    public void ReleaseTypeInfo(nint typeInfo) => Release(98, typeInfo);

    public void ReleaseTensorTypeAndShapeInfo(nint info) => Release(99, info);

    public void ReleaseSessionOptions(nint options) => Release(100, options);

    public nint AppendCudaV2(nint options, nint cudaOptions) => ((delegate* unmanaged[Cdecl]<nint, nint, nint>)Slot(204))(options, cudaOptions);

    public nint CreateCudaProviderOptions(nint* cudaOptions) => ((delegate* unmanaged[Cdecl]<nint*, nint>)Slot(205))(cudaOptions);

    public nint UpdateCudaProviderOptions(nint cudaOptions, byte** keys, byte** values, nuint count) =>
        ((delegate* unmanaged[Cdecl]<nint, byte**, byte**, nuint, nint>)Slot(206))(cudaOptions, keys, values, count);

    public void ReleaseCudaProviderOptions(nint cudaOptions) => Release(208, cudaOptions);

    private void Release(int slot, nint handle)
    {
        if (handle != 0)
        {
            ((delegate* unmanaged[Cdecl]<nint, void>)Slot(slot))(handle);
        }
    }
}
