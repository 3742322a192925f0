using CustomerGrains.Runtime.Configuration;
using CustomerGrains.Runtime.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace CustomerGrains.Runtime.Membership;

/// <summary>
/// This silo's membership: it joins the table, heartbeats, declares silos dead whose heartbeat is older than
/// the death timeout, and publishes a new <see cref="ClusterView"/> whenever the cluster version moves.
/// Heartbeat times are PostgreSQL's own clock, so silos with skewed clocks still agree.
/// </summary>
public sealed class MembershipService(
    Database database,
    IOptions<ClusterOptions> options,
    SiloLifetime lifetime,
    TimeProvider time,
    ILogger<MembershipService> logger)
{
    private readonly ClusterOptions _options = options.Value;
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _refreshLock = new();
    private volatile ClusterView _view = ClusterView.Empty;
    private Task? _pendingRefresh;
    private long _connectedSinceTimestamp = -1;

    /// <summary>Raised after a new view is published; handlers must not block.</summary>
    public event Action<ClusterView>? ViewChanged;

    /// <summary>Raised once when the cluster declared this silo dead.</summary>
    public event Action? DeclaredDead;

    public ClusterView View => _view;

    /// <summary>This silo's row; null until it joined.</summary>
    public SiloInfo? Self { get; private set; }

    /// <summary>Completes once this silo is active in the cluster.</summary>
    public Task Ready => _ready.Task;

    private string ClusterId => _options.ClusterId;

    /// <summary>Inserts this silo as Joining, then makes it Active, each change bumping the cluster version.
    /// A previous process with the same silo name is marked dead: it is this silo, restarted.</summary>
    public async Task JoinAsync(string siloName, Uri endpoint, CancellationToken cancellationToken)
    {
        var siloId = $"{siloName}@{time.GetUtcNow().ToUnixTimeMilliseconds()}";
        await using (var connection = await database.DataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            await ExecuteAsync(connection, transaction, cancellationToken,
                """
                UPDATE cluster_silos SET status = 'Dead' WHERE cluster_id = $1 AND silo_name = $2 AND status <> 'Dead';
                """, ClusterId, siloName);
            await ExecuteAsync(connection, transaction, cancellationToken,
                "DELETE FROM cluster_silos WHERE cluster_id = $1 AND status = 'Dead' AND heartbeat_at < now() - interval '1 day'", ClusterId);
            await ExecuteAsync(connection, transaction, cancellationToken,
                """
                INSERT INTO cluster_silos (cluster_id, silo_id, silo_name, endpoint, status, started_at, heartbeat_at)
                VALUES ($1, $2, $3, $4, 'Joining', now(), now())
                """, ClusterId, siloId, siloName, endpoint.ToString());
            await BumpVersionAsync(connection, transaction, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        Self = new SiloInfo(siloId, siloName, endpoint, SiloStatus.Joining, time.GetUtcNow());
        await SetStatusAsync(SiloStatus.Active, cancellationToken);
        Self = new SiloInfo(siloId, siloName, endpoint, SiloStatus.Active, time.GetUtcNow());
        _connectedSinceTimestamp = time.GetTimestamp();
        await RefreshViewAsync(cancellationToken);
        Log.Joined(logger, siloId, ClusterId, endpoint.ToString());
        _ready.TrySetResult();
    }

    /// <summary>Writes this silo's status and bumps the cluster version.</summary>
    public async Task SetStatusAsync(SiloStatus status, CancellationToken cancellationToken)
    {
        var self = Self ?? throw new InvalidOperationException("This silo has not joined the cluster.");
        await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await ExecuteAsync(connection, transaction, cancellationToken,
            "UPDATE cluster_silos SET status = $3, heartbeat_at = now() WHERE cluster_id = $1 AND silo_id = $2",
            ClusterId, self.SiloId, status.ToString());
        await BumpVersionAsync(connection, transaction, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>Heartbeats, declares dead silos and refreshes the view every <see cref="ClusterOptions.RefreshInterval"/>
    /// until cancelled or this silo stops.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_options.RefreshInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken) && !lifetime.IsStopped)
            {
                try
                {
                    if (!await HeartbeatAsync(cancellationToken))
                    {
                        Log.SelfDeclaredDead(logger, Self!.SiloId);
                        lifetime.DeclareDead();
                        DeclaredDead?.Invoke();
                        return;
                    }

                    if (_connectedSinceTimestamp < 0)
                    {
                        _connectedSinceTimestamp = time.GetTimestamp();
                    }

                    // Only a silo that has itself been reaching PostgreSQL for a whole timeout may judge others:
                    // after an outage every heartbeat is stale, and the live silos must get the chance to renew theirs.
                    if (time.GetElapsedTime(_connectedSinceTimestamp) >= _options.DeathTimeout)
                    {
                        await DeclareDeadSilosAsync(cancellationToken);
                    }

                    await RefreshViewAsync(cancellationToken);
                }
                catch (Exception ex) when (!cancellationToken.IsCancellationRequested && (Database.IsUnavailable(ex) || ex is StorageUnavailableException))
                {
                    _connectedSinceTimestamp = -1;
                    Log.MembershipRefreshFailed(logger, ex);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Re-reads the membership soon (coalescing concurrent requests), for callers that found a silo
    /// unreachable or not the owner; returns when the view is fresh.</summary>
    public Task RefreshSoonAsync()
    {
        lock (_refreshLock)
        {
            return _pendingRefresh ??= RunRefreshAsync();
        }

        async Task RunRefreshAsync()
        {
            try
            {
                await Task.Yield();
                await RefreshViewAsync(CancellationToken.None);
            }
            catch (Exception ex) when (Database.IsUnavailable(ex))
            {
                Log.MembershipRefreshFailed(logger, ex);
            }
            finally
            {
                lock (_refreshLock)
                {
                    _pendingRefresh = null;
                }
            }
        }
    }

    private async Task<bool> HeartbeatAsync(CancellationToken cancellationToken)
    {
        await using var command = database.DataSource.CreateCommand(
            "UPDATE cluster_silos SET heartbeat_at = now() WHERE cluster_id = $1 AND silo_id = $2 AND status <> 'Dead' RETURNING status");
        command.Parameters.AddWithValue(ClusterId);
        command.Parameters.AddWithValue(Self!.SiloId);
        return await command.ExecuteScalarAsync(cancellationToken) is string;
    }

    private async Task DeclareDeadSilosAsync(CancellationToken cancellationToken)
    {
        await using var command = database.DataSource.CreateCommand(
            """
            WITH dead AS (
                UPDATE cluster_silos SET status = 'Dead'
                WHERE cluster_id = $1 AND status <> 'Dead' AND heartbeat_at < now() - $2
                RETURNING silo_id),
            bump AS (
                UPDATE cluster_version SET version = version + 1
                WHERE cluster_id = $1 AND EXISTS (SELECT 1 FROM dead))
            SELECT silo_id FROM dead
            """);
        command.Parameters.AddWithValue(ClusterId);
        command.Parameters.AddWithValue(_options.DeathTimeout);
        var dead = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                dead.Add(reader.GetString(0));
            }
        }

        if (dead.Count > 0)
        {
            Log.DeclaredDead(logger, _options.DeathTimeout, string.Join(", ", dead));
        }
    }

    private async Task RefreshViewAsync(CancellationToken cancellationToken)
    {
        await using var batch = database.DataSource.CreateBatch();
        var versionCommand = new NpgsqlBatchCommand("SELECT version FROM cluster_version WHERE cluster_id = $1");
        versionCommand.Parameters.AddWithValue(ClusterId);
        var silosCommand = new NpgsqlBatchCommand(
            "SELECT silo_id, silo_name, endpoint, status, heartbeat_at FROM cluster_silos WHERE cluster_id = $1 AND status <> 'Dead'");
        silosCommand.Parameters.AddWithValue(ClusterId);
        batch.BatchCommands.Add(versionCommand);
        batch.BatchCommands.Add(silosCommand);

        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        var version = await reader.ReadAsync(cancellationToken) ? reader.GetInt64(0) : 0;
        if (version == _view.Version)
        {
            return;
        }

        await reader.NextResultAsync(cancellationToken);
        var silos = new List<SiloInfo>();
        while (await reader.ReadAsync(cancellationToken))
        {
            silos.Add(new SiloInfo(
                reader.GetString(0),
                reader.GetString(1),
                new Uri(reader.GetString(2)),
                Enum.Parse<SiloStatus>(reader.GetString(3)),
                reader.GetFieldValue<DateTimeOffset>(4)));
        }

        var view = new ClusterView(version, silos);
        lock (_refreshLock)
        {
            if (view.Version <= _view.Version)
            {
                return;
            }

            _view = view;
        }

        Log.ViewChanged(logger, view.Version, view.Active.Length, string.Join(", ", view.Active.Select(s => s.SiloId)));
        ViewChanged?.Invoke(view);
    }

    private async Task BumpVersionAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken) =>
        await ExecuteAsync(connection, transaction, cancellationToken,
            """
            INSERT INTO cluster_version (cluster_id, version) VALUES ($1, 1)
            ON CONFLICT (cluster_id) DO UPDATE SET version = cluster_version.version + 1
            """, ClusterId);

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken, string sql, params object[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var parameter in parameters)
        {
            command.Parameters.AddWithValue(parameter);
        }

        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
