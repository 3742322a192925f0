using CustomerGrains.Runtime.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace CustomerGrains.Runtime.Activation;

/// <summary>Thrown inside the runtime when a call reached an activation that is going away; the call is
/// routed again and never reaches the grain, so retrying it is safe.</summary>
internal sealed class ActivationGoneException : Exception;

/// <summary>
/// One live instance of a grain on this silo: its grain object, state, turn gate and lifecycle
/// (activating, valid, deactivating, gone).
/// </summary>
internal sealed class GrainActivation : IGrainContext
{
    private const int Activating = 0;
    private const int Valid = 1;
    private const int Deactivating = 2;
    private const int Gone = 3;

    private readonly GrainClass _grainClass;
    private readonly ActivationServices _services;
    private readonly Action<GrainActivation> _onGone;
    private readonly TurnGate _gate = new();
    private readonly Lock _lifecycleLock = new();
    private readonly TaskCompletionSource _activated = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private AsyncServiceScope? _scope;
    private Grain? _grain;
    private Task? _deactivation;
    private volatile int _status = Activating;
    private int _interleaved;
    private long _lastUsed;
    private bool _deactivateWhenIdle;

    public GrainActivation(GrainId grainId, GrainClass grainClass, ActivationServices services, Action<GrainActivation> onGone)
    {
        GrainId = grainId;
        _grainClass = grainClass;
        _services = services;
        _onGone = onGone;
        _lastUsed = services.Time.GetTimestamp();
    }

    public GrainId GrainId { get; }

    public IGrainFactory GrainFactory => _services.GrainFactory;

    /// <summary>Completes when state is read and <c>OnActivateAsync</c> ran; faults if either failed. Exists from
    /// construction, so a call that finds this activation before <see cref="Start"/> ran still waits for it.</summary>
    public Task Activated => _activated.Task;

    /// <summary>Still able to take calls (activating or valid).</summary>
    public bool IsUsable => _status <= Valid;

    public int Load => _gate.Load + Volatile.Read(ref _interleaved);

    /// <summary>Idle since at least <paramref name="age"/>, with nothing running or queued.</summary>
    public bool IsIdleFor(TimeSpan age) =>
        _status == Valid && Load == 0 && _services.Time.GetElapsedTime(Volatile.Read(ref _lastUsed)) >= age;

    public void DeactivateOnIdle() => _deactivateWhenIdle = true;

    /// <summary>Creates the grain, reads its state and runs <c>OnActivateAsync</c>. Called once, by whoever
    /// registered this activation in the catalog, so a losing racer never constructs a grain.</summary>
    public void Start() => _ = ActivateAsync();

    public async Task<TResult> InvokeAsync<TResult>(GrainMethod<TResult> method, object?[] arguments, long startTimestamp)
    {
        if (method.Kind == CallKind.Interleave)
        {
            Interlocked.Increment(ref _interleaved);
            try
            {
                if (!Activated.IsCompletedSuccessfully)
                {
                    await Activated;
                }

                ThrowIfGone();
                return await method.Invoker(_grain!, arguments);
            }
            finally
            {
                Interlocked.Decrement(ref _interleaved);
                Touch();
            }
        }

        // Queue for the turn before waiting for activation, so calls start in the order they arrived.
        var readOnly = method.Kind == CallKind.ReadOnly;
        await _gate.EnterAsync(readOnly);
        try
        {
            if (!Activated.IsCompletedSuccessfully)
            {
                await Activated;
            }

            ThrowIfGone();

            // A call that waited in the queue past its timeout has already failed for its caller; running it
            // now would apply a change nobody was told about.
            if (_services.Time.GetElapsedTime(startTimestamp) > _services.CallTimeout)
            {
                throw new GrainCallTimeoutException($"Call {method.WireName} on grain {GrainId} waited longer than {_services.CallTimeout} for its turn.");
            }

            return await method.Invoker(_grain!, arguments);
        }
        catch (InconsistentStateException)
        {
            // Another activation wrote this grain's state: this one's view is stale, so it must not serve again.
            Drop();
            throw;
        }
        finally
        {
            _gate.Exit(readOnly);
            Touch();
            if (_deactivateWhenIdle && _status == Valid)
            {
                _ = DeactivateAsync(DeactivationReason.ApplicationRequested);
            }
        }
    }

    /// <summary>Deactivates after the turns already queued: runs <c>OnDeactivateAsync</c> (unless the silo was
    /// killed) and removes the activation. Calls that queue behind it are routed to a new activation.</summary>
    public Task DeactivateAsync(DeactivationReason reason)
    {
        lock (_lifecycleLock)
        {
            return _deactivation ??= DeactivateCoreAsync(reason);
        }
    }

    /// <summary>Removes the activation at once without running grain code (state conflict, silo declared dead).</summary>
    public void Drop()
    {
        if (Interlocked.Exchange(ref _status, Gone) != Gone)
        {
            _onGone(this);
            if (_scope is { } scope)
            {
                _ = scope.DisposeAsync().AsTask();
            }
        }
    }

    private async Task ActivateAsync()
    {
        // Yield so that the activation never runs on the caller's stack while the catalog is being updated.
        await Task.Yield();
        try
        {
            var scope = _services.ScopeFactory.CreateAsyncScope();
            _scope = scope;
            var (grain, states) = _grainClass.Create(scope.ServiceProvider, GrainId, _services.Storage);
            grain.Context = this;
            foreach (var state in states)
            {
                await state.ReadStateAsync(CancellationToken.None);
            }

            await grain.OnActivateAsync(CancellationToken.None);
            _grain = grain;
            Interlocked.CompareExchange(ref _status, Valid, Activating);
            _activated.TrySetResult();
        }
        catch (Exception ex)
        {
            Drop();
            _activated.TrySetException(ex);
        }
    }

    private async Task DeactivateCoreAsync(DeactivationReason reason)
    {
        try
        {
            await Activated;
        }
        catch
        {
            return; // never became valid; already removed
        }

        await _gate.EnterAsync(readOnly: false);
        try
        {
            if (Interlocked.CompareExchange(ref _status, Deactivating, Valid) != Valid)
            {
                return;
            }

            while (Volatile.Read(ref _interleaved) > 0)
            {
                await Task.Delay(1);
            }

            if (!_services.Lifetime.IsKilled)
            {
                using var timeout = new CancellationTokenSource(_services.CallTimeout, _services.Time);
                await _grain!.OnDeactivateAsync(reason, timeout.Token);
            }
        }
        finally
        {
            Drop();
            _gate.Exit(readOnly: false);
        }
    }

    private void ThrowIfGone()
    {
        if (_status > Valid)
        {
            throw new ActivationGoneException();
        }
    }

    private void Touch() => Volatile.Write(ref _lastUsed, _services.Time.GetTimestamp());
}

/// <summary>What every activation of a silo shares.</summary>
internal sealed class ActivationServices(
    IServiceScopeFactory scopeFactory,
    IGrainStorage storage,
    IGrainFactory grainFactory,
    SiloLifetime lifetime,
    TimeProvider time,
    TimeSpan callTimeout)
{
    public IServiceScopeFactory ScopeFactory { get; } = scopeFactory;

    public IGrainStorage Storage { get; } = storage;

    public IGrainFactory GrainFactory { get; } = grainFactory;

    public SiloLifetime Lifetime { get; } = lifetime;

    public TimeProvider Time { get; } = time;

    public TimeSpan CallTimeout { get; } = callTimeout;
}
