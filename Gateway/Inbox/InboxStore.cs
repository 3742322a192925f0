using System.Text.Json;
using CustomerGrains.Gateway.Tenants;
using CustomerGrains.Gateway.Webhooks;
using CustomerGrains.Grains;
using CustomerGrains.Storage;
using Microsoft.Extensions.Options;
using Npgsql;

namespace CustomerGrains.Gateway.Inbox;

/// <summary>An inbox row on its way to a customer grain.</summary>
/// <param name="TraceParent">The W3C traceparent of the webhook request that wrote the row, which its delivery continues.</param>
public sealed record InboxRow(
    long Id, string TenantId, string Provider, string ConnectionId, string IdentityKey, InboxPayload Payload, int Attempts, DateTimeOffset ReceivedAt, string? TraceParent);

/// <summary>The gateway's side of the inbox (its statements are <see cref="InboxTable"/>'s): durable writes before
/// acknowledging, claims, completion and failure, with the rows as the dispatcher handles them.</summary>
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
        await using var command = InboxTable.Insert(_database, _options.ClaimTimeout,
            [.. rows.Select(r => r.Write.Connection.TenantId)],
            [.. owners.Keys.Select(k => k.Key)],
            [.. rows.Select(r => r.Write.Connection.Provider)],
            [.. rows.Select(r => r.Write.Connection.Id)],
            [.. rows.Select(r => r.Event.IdentityKey)],
            [.. rows.Select(r => JsonSerializer.Serialize(r.Event.Payload, Json))],
            [.. rows.Select(r => r.Write.TraceParent)]);

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

    /// <summary>Claims rows that are due and first of their customer (<see cref="InboxTable.ClaimDue"/>).</summary>
    public async Task<List<InboxRow>> ClaimDueAsync(int limit, CancellationToken cancellationToken)
    {
        await using var command = InboxTable.ClaimDue(_database, _options.ClaimTimeout, limit);
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

    /// <summary>Makes claimed rows due now, for the poller of any silo to deliver.</summary>
    public async Task ReleaseAsync(IReadOnlyList<long> ids, CancellationToken cancellationToken)
    {
        await using var command = InboxTable.Release(_database, [.. ids]);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>How many rows wait for delivery, and how long the oldest has waited (for the backlog metrics).</summary>
    public async Task<(long Events, TimeSpan OldestAge)> BacklogAsync(CancellationToken cancellationToken)
    {
        await using var command = InboxTable.Backlog(_database);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetInt64(0), reader.GetTimeSpan(1));
    }

    /// <summary>Completes a row that holds nothing for a customer (e.g. a HubSpot message that was our own reply).</summary>
    public async Task SkipAsync(long id, string reason, CancellationToken cancellationToken)
    {
        await using var command = InboxTable.Skip(_database, id, reason);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Records a failed delivery: retried after a back-off, or set aside as poison after the last attempt.
    /// Returns whether the row is now poison.</summary>
    public async Task<bool> FailAsync(InboxRow row, string error, CancellationToken cancellationToken)
    {
        var attempts = row.Attempts + 1;
        var poison = attempts >= _options.MaxAttempts;
        await using var command = InboxTable.Fail(_database, row.Id, attempts, error, poison, TimeSpan.FromSeconds(Math.Min(300, Math.Pow(2, attempts))));
        await command.ExecuteNonQueryAsync(cancellationToken);
        return poison;
    }
}
