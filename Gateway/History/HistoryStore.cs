using CustomerGrains.Gateway.Tenants;
using Npgsql;

namespace CustomerGrains.Gateway.History;

/// <summary>An import by an admin, or the periodic reconciliation.</summary>
public enum HistoryKind
{
    Import,
    Reconcile,
}

/// <summary>Where a run stands: reading, read to the end, or stopped by what the CRM answered (resumable).</summary>
public enum HistoryStatus
{
    Running,
    Done,
    Failed,
}

/// <summary>A run of reading a connection's past conversations: its cursor and its counts.</summary>
/// <param name="Page">The CRM's token of the page of conversations being read; null for the first.</param>
/// <param name="PageDone">Conversations of that page already stored.</param>
/// <param name="Queued">Messages that were new to the inbox (the rest it already had, from webhooks or a run before).</param>
/// <param name="Skipped">Conversations passed over because the CRM's data for them could not be read (the silo's log
/// says why, event 2062).</param>
public sealed record HistoryRun(
    string TenantId, string ConnectionId, HistoryKind Kind, string Provider, HistoryStatus Status, DateTimeOffset Since, string? Page, int PageDone,
    int Conversations, int Messages, int Queued, int Skipped, long Requests, int Throttled, string? Error, string? StartedBy,
    DateTimeOffset StartedAt, DateTimeOffset UpdatedAt, DateTimeOffset? FinishedAt);

/// <summary>The <c>history_runs</c> table (Gateway/Sql/002_history_runs.sql): its one owner. A run is held by one
/// silo at a time through a lease that the silo renews while it reads; a silo that dies lets it lapse, and another
/// takes the run over from its stored cursor.</summary>
public sealed class HistoryStore(NpgsqlDataSource database)
{
    private const string Columns =
        "tenant_id, connection_id, kind, provider, status, since, page, page_done, conversations, messages, queued, skipped, requests, throttled, error, started_by, started_at, updated_at, finished_at";

    private const string Restart =
        "status = 'running', page = NULL, page_done = 0, conversations = 0, messages = 0, queued = 0, skipped = 0, requests = 0, throttled = 0, error = NULL, " +
        "started_at = now(), updated_at = now(), finished_at = NULL, lease_owner = NULL, lease_until = '-infinity'";

    /// <summary>Starts an import from <paramref name="since"/>, unless one is running: then returns that one, and false.</summary>
    public async Task<(HistoryRun Run, bool Started)> StartImportAsync(Connection connection, DateTimeOffset since, string startedBy, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(
            $"""
            WITH started AS (
                INSERT INTO history_runs (tenant_id, connection_id, kind, provider, status, since, started_by)
                VALUES ($1, $2, 'import', $3, 'running', $4, $5)
                ON CONFLICT (tenant_id, connection_id, kind) DO UPDATE SET {Restart}, since = excluded.since, started_by = excluded.started_by, provider = excluded.provider
                WHERE history_runs.status <> 'running'
                RETURNING {Columns}, true AS started)
            SELECT * FROM started
            UNION ALL
            SELECT {Columns}, false FROM history_runs WHERE tenant_id = $1 AND connection_id = $2 AND kind = 'import' AND NOT EXISTS (SELECT 1 FROM started)
            """);
        command.Parameters.AddWithValue(connection.TenantId);
        command.Parameters.AddWithValue(connection.Id);
        command.Parameters.AddWithValue(connection.Provider);
        command.Parameters.AddWithValue(since);
        command.Parameters.AddWithValue(startedBy);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (Read(reader), reader.GetBoolean(19));
    }

    /// <summary>Takes a failed import up again from its cursor; null when the connection has no failed import.</summary>
    public async Task<HistoryRun?> ResumeImportAsync(Connection connection, CancellationToken cancellationToken) =>
        (await ReadAsync(
            $"""
            UPDATE history_runs SET status = 'running', error = NULL, finished_at = NULL, updated_at = now(), lease_owner = NULL, lease_until = '-infinity'
            WHERE tenant_id = $1 AND connection_id = $2 AND kind = 'import' AND status = 'failed'
            RETURNING {Columns}
            """, cancellationToken, connection.TenantId, connection.Id)).FirstOrDefault();

    /// <summary>Starts the connection's reconciliation if its last one finished <paramref name="every"/> ago (the first
    /// reads back <paramref name="firstWindow"/>); each reads from shortly before the previous one started, so
    /// consecutive runs overlap and a message is never between two of them.</summary>
    public async Task ScheduleReconcileAsync(Connection connection, TimeSpan every, TimeSpan firstWindow, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(
            $"""
            INSERT INTO history_runs (tenant_id, connection_id, kind, provider, status, since, started_by)
            VALUES ($1, $2, 'reconcile', $3, 'running', now() - $4, 'reconciliation')
            ON CONFLICT (tenant_id, connection_id, kind) DO UPDATE SET {Restart}, since = history_runs.started_at - $6
            WHERE history_runs.status <> 'running' AND history_runs.finished_at <= now() - $5
            """);
        command.Parameters.AddWithValue(connection.TenantId);
        command.Parameters.AddWithValue(connection.Id);
        command.Parameters.AddWithValue(connection.Provider);
        command.Parameters.AddWithValue(firstWindow);
        command.Parameters.AddWithValue(every);
        command.Parameters.AddWithValue(Overlap);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>How far a reconciliation reads back before the previous one's start (a message the CRM timestamps a
    /// little before it lists it).</summary>
    public static readonly TimeSpan Overlap = TimeSpan.FromMinutes(5);

    /// <summary>Takes up to <paramref name="limit"/> running runs that nobody holds (new, released, or whose silo died).</summary>
    public Task<List<HistoryRun>> ClaimAsync(string owner, TimeSpan lease, int limit, CancellationToken cancellationToken) =>
        ReadAsync(
            $"""
            UPDATE history_runs SET lease_owner = $1, lease_until = now() + $2
            WHERE (tenant_id, connection_id, kind) IN (
                SELECT tenant_id, connection_id, kind FROM history_runs
                WHERE status = 'running' AND lease_until < now()
                ORDER BY updated_at LIMIT $3 FOR UPDATE SKIP LOCKED)
            RETURNING {Columns}
            """, cancellationToken, owner, lease, limit);

    /// <summary>Stores the cursor after a conversation and adds to the counts; false when the run is no longer this
    /// silo's (its lease lapsed and another took it) and it must stop.</summary>
    public async Task<bool> ProgressAsync(HistoryRun run, string owner, TimeSpan lease, string? page, int pageDone, int conversations, int messages, int queued,
        int skipped, long requests, int throttled, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(
            """
            UPDATE history_runs SET page = $4, page_done = $5, conversations = conversations + $6, messages = messages + $7, queued = queued + $8,
                requests = requests + $9, throttled = throttled + $10, updated_at = now(), lease_until = now() + $11, skipped = skipped + $13
            WHERE tenant_id = $1 AND connection_id = $2 AND kind = $3 AND lease_owner = $12 AND status = 'running'
            """);
        command.Parameters.AddWithValue(run.TenantId);
        command.Parameters.AddWithValue(run.ConnectionId);
        command.Parameters.AddWithValue(Name(run.Kind));
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)page ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.AddWithValue(pageDone);
        command.Parameters.AddWithValue(conversations);
        command.Parameters.AddWithValue(messages);
        command.Parameters.AddWithValue(queued);
        command.Parameters.AddWithValue(requests);
        command.Parameters.AddWithValue(throttled);
        command.Parameters.AddWithValue(lease);
        command.Parameters.AddWithValue(owner);
        command.Parameters.AddWithValue(skipped);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>Keeps this silo's lease on the run while it reads (a conversation with thousands of messages takes a while).</summary>
    public async Task<bool> RenewAsync(HistoryRun run, string owner, TimeSpan lease, CancellationToken cancellationToken) =>
        await ExecuteAsync("UPDATE history_runs SET lease_until = now() + $4 WHERE tenant_id = $1 AND connection_id = $2 AND kind = $3 AND lease_owner = $5 AND status = 'running'",
            cancellationToken, run.TenantId, run.ConnectionId, Name(run.Kind), lease, owner) == 1;

    /// <summary>Ends the run: read to the end (<paramref name="error"/> null), or stopped with the reason. Returns the run
    /// as it ended; null when it is no longer this silo's.</summary>
    public async Task<HistoryRun?> FinishAsync(HistoryRun run, string owner, string? error, long requests, int throttled, CancellationToken cancellationToken) =>
        (await ReadAsync(
            $"""
            UPDATE history_runs SET status = CASE WHEN $4::text IS NULL THEN 'done' ELSE 'failed' END, error = $4, finished_at = now(), updated_at = now(),
                requests = requests + $6, throttled = throttled + $7, lease_owner = NULL, lease_until = '-infinity'
            WHERE tenant_id = $1 AND connection_id = $2 AND kind = $3 AND lease_owner = $5 AND status = 'running'
            RETURNING {Columns}
            """, cancellationToken, run.TenantId, run.ConnectionId, Name(run.Kind), (object?)error ?? DBNull.Value, owner, requests, throttled)).FirstOrDefault();

    /// <summary>Lets another silo take the run up at once (this one is stopping).</summary>
    public Task ReleaseAsync(HistoryRun run, string owner, CancellationToken cancellationToken) =>
        ExecuteAsync("UPDATE history_runs SET lease_owner = NULL, lease_until = '-infinity' WHERE tenant_id = $1 AND connection_id = $2 AND kind = $3 AND lease_owner = $4",
            cancellationToken, run.TenantId, run.ConnectionId, Name(run.Kind), owner);

    /// <summary>The connection's runs (its import and its reconciliation), where there are any.</summary>
    public Task<List<HistoryRun>> GetAsync(string tenantId, string connectionId, CancellationToken cancellationToken) =>
        ReadAsync($"SELECT {Columns} FROM history_runs WHERE tenant_id = $1 AND connection_id = $2 ORDER BY kind", cancellationToken, tenantId, connectionId);

    private static string Name(HistoryKind kind) => kind == HistoryKind.Import ? "import" : "reconcile";

    private async Task<int> ExecuteAsync(string sql, CancellationToken cancellationToken, params object[] parameters)
    {
        await using var command = Command(sql, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>A command with positional parameters; a null (DBNull) is a text one.</summary>
    private NpgsqlCommand Command(string sql, object[] parameters)
    {
        var command = database.CreateCommand(sql);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(parameter is DBNull ? new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text } : new NpgsqlParameter { Value = parameter });
        }

        return command;
    }

    private async Task<List<HistoryRun>> ReadAsync(string sql, CancellationToken cancellationToken, params object[] parameters)
    {
        await using var command = Command(sql, parameters);

        var runs = new List<HistoryRun>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            runs.Add(Read(reader));
        }

        return runs;
    }

    private static HistoryRun Read(NpgsqlDataReader reader) => new(
        reader.GetString(0), reader.GetString(1), reader.GetString(2) == "import" ? HistoryKind.Import : HistoryKind.Reconcile, reader.GetString(3),
        Enum.Parse<HistoryStatus>(reader.GetString(4), ignoreCase: true), reader.GetFieldValue<DateTimeOffset>(5), reader.IsDBNull(6) ? null : reader.GetString(6),
        reader.GetInt32(7), reader.GetInt32(8), reader.GetInt32(9), reader.GetInt32(10), reader.GetInt32(11), reader.GetInt64(12), reader.GetInt32(13),
        reader.IsDBNull(14) ? null : reader.GetString(14), reader.IsDBNull(15) ? null : reader.GetString(15), reader.GetFieldValue<DateTimeOffset>(16),
        reader.GetFieldValue<DateTimeOffset>(17), reader.IsDBNull(18) ? null : reader.GetFieldValue<DateTimeOffset>(18));
}
