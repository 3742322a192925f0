using System.Text.Json;
using CustomerGrains.Gateway.Tenants;
using CustomerGrains.Gateway.Webhooks;
using CustomerGrains.Grains;
using CustomerGrains.Storage;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace CustomerGrains.Gateway.Inbox;

/// <summary>An inbox row on its way to a customer grain.</summary>
/// <param name="TraceParent">The W3C traceparent of the webhook request that wrote the row, which its delivery continues.</param>
public sealed record InboxRow(
    long Id, string TenantId, string Provider, string ConnectionId, string IdentityKey, InboxPayload Payload, int Attempts, DateTimeOffset ReceivedAt, string? TraceParent);

/// <summary>The inbox table: durable writes before acknowledging, claims, completion and failure.</summary>
public sealed class InboxStore : IAsyncDisposable
{
    private const int Flushers = 4;
    private const int MaxBatch = 128;
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };
    private readonly NpgsqlDataSource _database;
    private readonly InboxOptions _options;
    private readonly GroupCommit<PendingWrite, InboxRow[]> _writes;

    public InboxStore(NpgsqlDataSource database, IOptions<InboxOptions> options)
    {
        _database = database;
        _options = options.Value;
        _writes = new(InsertAsync, Flushers, MaxBatch, failure: ex => ex switch
        {
            PostgresException { SqlState: var state } pg when state.StartsWith("22", StringComparison.Ordinal) =>
                new WebhookPayloadException($"The payload cannot be stored: {pg.MessageText}"),
            _ when PostgresFailure.IsUnreachable(ex) => new StorageUnavailableException($"PostgreSQL is unreachable: {ex.Message}", ex),
            _ => ex,
        });
    }

    /// <summary>
    /// Writes a delivery's events, each claimed by this silo for immediate delivery, and returns the rows written
    /// (duplicates of a tenant's dedupe key are left out). Returns only once they are committed. Concurrent
    /// deliveries share one INSERT and one commit (<see cref="GroupCommit{TItem, TResult}"/>): a commit's fsync, not
    /// the statement, is what limits single-row inserts.
    /// </summary>
    public Task<InboxRow[]> WriteAsync(Connection connection, IReadOnlyList<InboxEvent> events, CancellationToken cancellationToken)
    {
        if (events.Count == 0)
        {
            return Task.FromResult<InboxRow[]>([]);
        }

        return _writes.WriteAsync(new PendingWrite(connection, events, System.Diagnostics.Activity.Current?.Id), cancellationToken);
    }

    private async Task<InboxRow[][]> InsertAsync(IReadOnlyList<PendingWrite> batch)
    {
        // A dedupe key sent twice at once (a CRM retrying) belongs to the first delivery that carried it. Keys are the
        // connection's own: two accounts of one CRM number their events alike.
        var owners = new Dictionary<(string Tenant, string Key), (PendingWrite Write, InboxEvent Event)>();
        foreach (var write in batch)
        {
            foreach (var e in write.Events)
            {
                owners.TryAdd((write.Connection.TenantId, $"{write.Connection.Id}/{e.DedupeKey}"), (write, e));
            }
        }

        var rows = owners.Values.ToList();
        await using var command = _database.CreateCommand(
            """
            INSERT INTO inbox (tenant_id, dedupe_key, provider, connection_id, identity_key, payload, trace_parent, next_attempt_at)
            SELECT e.tenant_id, e.dedupe_key, e.provider, e.connection_id, e.identity_key, e.payload, e.trace_parent, now() + $1
            FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[], $8::text[])
                AS e(tenant_id, dedupe_key, provider, connection_id, identity_key, payload, trace_parent)
            ON CONFLICT (tenant_id, dedupe_key) DO NOTHING
            RETURNING id, tenant_id, dedupe_key, received_at
            """);
        command.Parameters.AddWithValue(_options.ClaimTimeout);
        command.Parameters.AddWithValue(rows.Select(r => r.Write.Connection.TenantId).ToArray());
        command.Parameters.AddWithValue(owners.Keys.Select(k => k.Key).ToArray());
        command.Parameters.AddWithValue(rows.Select(r => r.Write.Connection.Provider).ToArray());
        command.Parameters.AddWithValue(rows.Select(r => r.Write.Connection.Id).ToArray());
        command.Parameters.AddWithValue(rows.Select(r => r.Event.IdentityKey).ToArray());
        command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => JsonSerializer.Serialize(r.Event.Payload, Json)).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb });
        command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Write.TraceParent).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });

        var written = new Dictionary<PendingWrite, List<InboxRow>>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var (write, e) = owners[(reader.GetString(1), reader.GetString(2))];
            var connection = write.Connection;
            (written.TryGetValue(write, out var list) ? list : written[write] = [])
                .Add(new InboxRow(reader.GetInt64(0), connection.TenantId, connection.Provider, connection.Id, e.IdentityKey, e.Payload, 0, reader.GetFieldValue<DateTimeOffset>(3), write.TraceParent));
        }

        return [.. batch.Select(write => written.TryGetValue(write, out var rows) ? rows.ToArray() : [])];
    }

    public ValueTask DisposeAsync() => _writes.DisposeAsync();

    private sealed record PendingWrite(Connection Connection, IReadOnlyList<InboxEvent> Events, string? TraceParent);

    /// <summary>Claims rows that are due (a retry whose back-off passed, or a row whose claim expired because its
    /// silo died) and are the oldest pending row of their customer, so a customer's events go in order. Claiming
    /// pushes <c>next_attempt_at</c> forward by the claim timeout, so the partial index returns only due rows.</summary>
    public Task<List<InboxRow>> ClaimDueAsync(int limit, CancellationToken cancellationToken) =>
        ReadRowsAsync(
            """
            UPDATE inbox SET next_attempt_at = now() + $1
            WHERE id IN (
                SELECT i.id FROM inbox i
                WHERE i.status = 'pending' AND i.next_attempt_at <= now()
                  AND NOT EXISTS (SELECT 1 FROM inbox p WHERE p.status = 'pending' AND p.tenant_id = i.tenant_id AND p.identity_key = i.identity_key AND p.id < i.id)
                ORDER BY i.next_attempt_at, i.id
                LIMIT $2
                FOR UPDATE SKIP LOCKED)
            RETURNING id, tenant_id, provider, connection_id, identity_key, payload::text, attempts, received_at, trace_parent
            """,
            cancellationToken, _options.ClaimTimeout, limit);

    /// <summary>Makes claimed rows due now, for the poller of any silo to deliver.</summary>
    public async Task ReleaseAsync(IReadOnlyList<long> ids, CancellationToken cancellationToken)
    {
        await using var command = _database.CreateCommand("UPDATE inbox SET next_attempt_at = now() WHERE id = ANY($1) AND status = 'pending'");
        command.Parameters.AddWithValue(ids.ToArray());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>How many rows wait for delivery, and how long the oldest has waited (for the backlog metrics).</summary>
    public async Task<(long Events, TimeSpan OldestAge)> BacklogAsync(CancellationToken cancellationToken)
    {
        await using var command = _database.CreateCommand("SELECT count(*), coalesce(now() - min(received_at), interval '0') FROM inbox WHERE status = 'pending'");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetInt64(0), reader.GetTimeSpan(1));
    }

    /// <summary>Completes a row that holds nothing for a customer (e.g. a HubSpot message that was our own reply).</summary>
    public async Task SkipAsync(long id, string reason, CancellationToken cancellationToken)
    {
        await using var command = _database.CreateCommand(
            "UPDATE inbox SET status = 'done', done_at = now(), last_error = $2 WHERE id = $1");
        command.Parameters.AddWithValue(id);
        command.Parameters.AddWithValue(reason);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Records a failed delivery: retried after a back-off, or set aside as poison after the last attempt.
    /// Returns whether the row is now poison.</summary>
    public async Task<bool> FailAsync(InboxRow row, string error, CancellationToken cancellationToken)
    {
        var attempts = row.Attempts + 1;
        var poison = attempts >= _options.MaxAttempts;
        var backoff = TimeSpan.FromSeconds(Math.Min(300, Math.Pow(2, attempts)));
        await using var command = _database.CreateCommand(
            """
            UPDATE inbox SET attempts = $2, last_error = $3,
                status = CASE WHEN $4 THEN 'poison' ELSE status END, next_attempt_at = now() + $5
            WHERE id = $1 AND status = 'pending'
            """);
        command.Parameters.AddWithValue(row.Id);
        command.Parameters.AddWithValue(attempts);
        command.Parameters.AddWithValue(error.Length <= 2000 ? error : error[..2000]);
        command.Parameters.AddWithValue(poison);
        command.Parameters.AddWithValue(backoff);
        await command.ExecuteNonQueryAsync(cancellationToken);
        return poison;
    }

    private async Task<List<InboxRow>> ReadRowsAsync(string sql, CancellationToken cancellationToken, params object[] parameters)
    {
        await using var command = _database.CreateCommand(sql);
        foreach (var parameter in parameters)
        {
            command.Parameters.AddWithValue(parameter);
        }

        var rows = new List<InboxRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var payload = JsonSerializer.Deserialize<InboxPayload>(reader.GetString(5), Json)!;
            rows.Add(new InboxRow(
                reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), payload, reader.GetInt32(6),
                reader.GetFieldValue<DateTimeOffset>(7), reader.IsDBNull(8) ? null : reader.GetString(8)));
        }

        return rows.OrderBy(r => r.Id).ToList();
    }
}
