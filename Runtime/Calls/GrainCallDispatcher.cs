using CustomerGrains.Runtime.Activation;
using CustomerGrains.Runtime.Configuration;
using CustomerGrains.Runtime.Membership;
using CustomerGrains.Runtime.Placement;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CustomerGrains.Runtime.Calls;

/// <summary>Where a call came from, which decides what a silo that does not own the grain does with it.</summary>
internal enum CallOrigin
{
    /// <summary>From a grain reference on this silo: route it to the owner.</summary>
    Local,
    /// <summary>From another silo that believes this one owns the grain: refuse if not (the caller retries).</summary>
    Remote,
    /// <summary>From a draining silo that placed the grain here: run it here.</summary>
    Forwarded,
}

/// <summary>Thrown for a remote call that reached a silo which does not own the grain; answered 421 and retried
/// by the caller on the current owner. Nothing ran.</summary>
internal sealed class NotOwnerException(string message) : Exception(message);

/// <summary>Thrown for a remote call that reached a silo which stopped serving; answered 503 and retried by
/// the caller. Nothing ran.</summary>
internal sealed class SiloStoppedException(string message) : Exception(message);

/// <summary>
/// Routes every grain call: to a local activation when this silo owns the grain, else to the owner over
/// HTTP/2. Retries what certainly did not run (owner moved, silo unreachable before the request was sent)
/// until the call timeout, retries once on a fresh activation after a state conflict, and never retries a
/// call that may have run.
/// </summary>
internal sealed class GrainCallDispatcher(
    ActivationCatalog catalog,
    MembershipService membership,
    RemoteGrainClient remote,
    SiloLifetime lifetime,
    TimeProvider time,
    IOptions<GrainOptions> options,
    ILogger<GrainCallDispatcher> logger)
{
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(1);
    private readonly TimeSpan _callTimeout = options.Value.CallTimeout;

    public Task<TResult> InvokeAsync<TResult>(GrainId grainId, GrainMethod<TResult> method, object?[] arguments, CallOrigin origin)
    {
        var start = time.GetTimestamp();
        var call = method.GrainClass.IsStatelessWorker
            ? InvokeWorkerAsync(grainId, method, arguments, start)
            : RouteAsync(grainId, method, arguments, origin, start);
        return call.IsCompleted ? call : WithTimeoutAsync(call, grainId, method, start);
    }

    private async Task<TResult> WithTimeoutAsync<TResult>(Task<TResult> call, GrainId grainId, GrainMethod method, long start)
    {
        var remaining = _callTimeout - time.GetElapsedTime(start);
        try
        {
            return await call.WaitAsync(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, time);
        }
        catch (TimeoutException) when (!call.IsCompleted)
        {
            // The call goes on in the background until it notices its own deadline; observe its end quietly.
            _ = call.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            throw TimedOut(grainId, method);
        }
    }

    private async Task<TResult> InvokeWorkerAsync<TResult>(GrainId grainId, GrainMethod<TResult> method, object?[] arguments, long start)
    {
        while (true)
        {
            ThrowIfStopped(grainId, method, CallOrigin.Local);
            try
            {
                return await catalog.GetWorker(grainId, method.GrainClass).InvokeAsync(method, arguments, start);
            }
            catch (ActivationGoneException)
            {
                await Task.Yield();
            }
        }
    }

    private async Task<TResult> RouteAsync<TResult>(GrainId grainId, GrainMethod<TResult> method, object?[] arguments, CallOrigin origin, long start)
    {
        var retriedConflict = false;
        var attempt = 0;
        while (true)
        {
            ThrowIfStopped(grainId, method, origin);
            if (!membership.Ready.IsCompleted)
            {
                await membership.Ready;
            }

            var self = membership.Self!;
            var view = membership.View;
            GrainActivation? activation = null;
            SiloInfo? target = null;
            if (lifetime.IsDraining)
            {
                // Serve grains still active here; place the rest as if this silo were already gone.
                activation = catalog.TryGet(grainId);
                target = activation is null ? RendezvousPlacement.GetOwner(grainId, view, exclude: self) : null;
            }
            else
            {
                var owner = RendezvousPlacement.GetOwner(grainId, view);
                if (owner?.SiloId == self.SiloId || origin == CallOrigin.Forwarded)
                {
                    activation = catalog.GetOrCreate(grainId, method.GrainClass);
                }
                else if (origin == CallOrigin.Remote)
                {
                    throw new NotOwnerException($"Silo {self.SiloId} does not own grain {grainId} in membership version {view.Version}; its owner is {owner?.SiloId ?? "unknown"}.");
                }
                else
                {
                    target = owner;
                }
            }

            if (activation is not null)
            {
                try
                {
                    return await activation.InvokeAsync(method, arguments, start);
                }
                catch (ActivationGoneException)
                {
                    await Task.Yield();
                    continue;
                }
                catch (InconsistentStateException) when (!retriedConflict)
                {
                    retriedConflict = true;
                    Log.StateConflict(logger, grainId.ToString());
                    continue;
                }
            }

            if (target is not null)
            {
                var outcome = await remote.InvokeAsync(target, grainId, method, arguments, forwarded: lifetime.IsDraining, view.Version);
                if (outcome.Completed)
                {
                    return outcome.Result;
                }
            }

            // Nothing ran: no silo is active, the target was unreachable, or it does not own the grain any more.
            await membership.RefreshSoonAsync();
            var delay = TimeSpan.FromMilliseconds(Math.Min(MaxRetryDelay.TotalMilliseconds, 25 << Math.Min(attempt++, 6)));
            await Task.Delay(delay < Remaining(start, grainId, method) ? delay : TimeSpan.Zero, time);
        }
    }

    private TimeSpan Remaining(long start, GrainId grainId, GrainMethod method)
    {
        var remaining = _callTimeout - time.GetElapsedTime(start);
        return remaining > TimeSpan.Zero ? remaining : throw TimedOut(grainId, method);
    }

    private GrainCallTimeoutException TimedOut(GrainId grainId, GrainMethod method) =>
        new($"Call {method.WireName} on grain {grainId} did not complete within {_callTimeout}.");

    private void ThrowIfStopped(GrainId grainId, GrainMethod method, CallOrigin origin)
    {
        if (lifetime.IsStopped)
        {
            var message = $"This silo has stopped serving calls; {method.WireName} on grain {grainId} did not run.";
            throw origin == CallOrigin.Local ? new SiloUnavailableException(message) : new SiloStoppedException(message);
        }
    }
}
