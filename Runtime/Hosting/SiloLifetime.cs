namespace CustomerGrains.Runtime;

/// <summary>Where this silo is in its life; read on every call, so plain volatile flags.</summary>
public sealed class SiloLifetime
{
    private volatile bool _draining;
    private volatile bool _stopped;
    private volatile bool _killed;
    private volatile bool _declaredDead;

    /// <summary>Graceful shutdown has begun: no new activations here, calls for grains without one are forwarded.</summary>
    public bool IsDraining => _draining;

    /// <summary>This silo no longer serves calls: it left the cluster, was declared dead, or was killed.</summary>
    public bool IsStopped => _stopped;

    /// <summary>Set by a test cluster to imitate SIGKILL: nothing more reaches PostgreSQL or the network.</summary>
    public bool IsKilled => _killed;

    /// <summary>The cluster declared this silo dead (it missed heartbeats); the process should exit non-zero.</summary>
    public bool WasDeclaredDead => _declaredDead;

    internal void BeginDraining() => _draining = true;

    internal void DeclareDead()
    {
        _declaredDead = true;
        _stopped = true;
    }

    internal void Stop() => _stopped = true;

    /// <summary>Imitates SIGKILL inside one process: from now on this silo writes nothing, answers nothing and
    /// does no graceful leave. Used by test clusters; a real process is simply killed.</summary>
    public void Kill()
    {
        _killed = true;
        _stopped = true;
    }

    internal void ThrowIfKilled()
    {
        if (_killed)
        {
            throw new SiloUnavailableException("This silo was killed.");
        }
    }
}
