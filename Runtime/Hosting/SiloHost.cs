using CustomerGrains.Runtime.Activation;
using CustomerGrains.Runtime.Configuration;
using CustomerGrains.Runtime.Membership;
using CustomerGrains.Runtime.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CustomerGrains.Runtime.Hosting;

/// <summary>
/// A silo's life: before Kestrel starts, migrate the schema (and fail the start if PostgreSQL is unreachable);
/// once it listens, join the cluster; on SIGTERM, while Kestrel still serves, drain every activation, tell the
/// cluster, and leave.
/// </summary>
internal sealed class SiloHost(
    Database database,
    MembershipService membership,
    ActivationCatalog catalog,
    SiloEndpoints endpoints,
    SiloLifetime lifetime,
    IOptions<ClusterOptions> clusterOptions,
    IOptions<GrainOptions> grainOptions,
    TimeProvider time,
    IHostApplicationLifetime application,
    ILogger<SiloHost> logger) : IHostedLifecycleService
{
    private readonly CancellationTokenSource _stopping = new();
    private Task _background = Task.CompletedTask;

    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        // The connection string's password is removed and the cluster key is never logged.
        var cluster = clusterOptions.Value;
        Log.Starting(logger, cluster.ClusterId, cluster.ServiceId, database.Options.Redacted(), grainOptions.Value.CallTimeout, cluster.DeathTimeout);
        try
        {
            await database.MigrateAsync(cancellationToken);
        }
        catch (StorageUnavailableException ex)
        {
            Log.StartFailed(logger, ex.Message, ex);
            throw;
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StartedAsync(CancellationToken cancellationToken)
    {
        var options = clusterOptions.Value;
        var endpoint = options.AdvertisedUrl is { } advertised ? new Uri(advertised) : endpoints.ClusterUrl;
        var name = options.SiloName ?? $"{Environment.MachineName}-{endpoints.PublicPort}";
        membership.ViewChanged += view =>
        {
            if (!lifetime.IsDraining && membership.Self is { } self)
            {
                catalog.HandOff(view, self);
            }
        };
        membership.DeclaredDead += () =>
        {
            catalog.DropAll();
            application.StopApplication();
        };

        await membership.JoinAsync(name, endpoint, cancellationToken);
        _background = Task.WhenAll(membership.RunAsync(_stopping.Token), CollectIdleAsync(_stopping.Token));
    }

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        if (lifetime.IsStopped || membership.Self is null)
        {
            await StopBackgroundAsync();
            return;
        }

        lifetime.BeginDraining();
        Log.Draining(logger, membership.Self.SiloId, catalog.Count);
        await catalog.DrainAsync();
        try
        {
            // Others stop placing grains here once they see ShuttingDown; until then this silo forwards their calls.
            await membership.SetStatusAsync(SiloStatus.ShuttingDown, cancellationToken);
            await Task.Delay(clusterOptions.Value.RefreshInterval * 2, time, cancellationToken);
            await StopBackgroundAsync();
            await membership.SetStatusAsync(SiloStatus.Dead, CancellationToken.None);
            Log.Left(logger, membership.Self.SiloId, clusterOptions.Value.ClusterId);
        }
        catch (Exception ex) when (ex is StorageUnavailableException or OperationCanceledException || Database.IsUnavailable(ex))
        {
            Log.LeaveFailed(logger, ex);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => StopBackgroundAsync();

    public Task StoppedAsync(CancellationToken cancellationToken)
    {
        lifetime.Stop();
        return Task.CompletedTask;
    }

    private async Task StopBackgroundAsync()
    {
        if (!_stopping.IsCancellationRequested)
        {
            await _stopping.CancelAsync();
        }

        await _background;
    }

    private async Task CollectIdleAsync(CancellationToken cancellationToken)
    {
        var options = grainOptions.Value;
        using var timer = new PeriodicTimer(options.CollectionInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                await catalog.CollectIdleAsync(options.CollectionAge);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
