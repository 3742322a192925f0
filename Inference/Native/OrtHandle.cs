using System.Runtime.InteropServices;

namespace CustomerGrains.Inference.Native;

/// <summary>
/// Owns one ONNX Runtime object (environment, session, value, memory info) and releases it exactly once, also when
/// its owner is never disposed. A handle that depends on another (a session on its environment) holds a reference on
/// it, so the environment is released only after everything created from it.
/// </summary>
internal sealed class OrtHandle : SafeHandle
{
    private readonly Action<nint> _release;
    private readonly OrtHandle? _dependsOn;

    public OrtHandle(nint handle, Action<nint> release, OrtHandle? dependsOn = null)
        : base(0, ownsHandle: true)
    {
        _release = release;
        SetHandle(handle);
        if (dependsOn is not null)
        {
            var added = false;
            dependsOn.DangerousAddRef(ref added);
            _dependsOn = added ? dependsOn : null;
        }
    }

    public override bool IsInvalid => handle == 0;

    /// <summary>The native pointer, for calls; throws once released.</summary>
    public nint Pointer => !IsClosed ? handle : throw new ObjectDisposedException(nameof(OrtHandle));

    protected override bool ReleaseHandle()
    {
        _release(handle);
        _dependsOn?.DangerousRelease();
        return true;
    }
}
