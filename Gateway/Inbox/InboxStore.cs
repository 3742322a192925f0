using System.Text.Json;
using CustomerGrains.Gateway.Tenants;
using CustomerGrains.Gateway.Webhooks;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace CustomerGrains.Gateway.Inbox;

/// <summary>An inbox row on its way to a customer grain.</summary>
public sealed record InboxRow(long Id, string TenantId, string Provider, string ConnectionId, string IdentityKey, InboxPayload Payload, int Attempts);

/// <summary>The inbox table: durable writes before acknowledging, claims, completion and failure.</summary>
public sealed class InboxStore(NpgsqlDataSource database, IOptions<InboxOptions> options)
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };
    private readonly InboxOptions _options = options.Value;

    /// <summary>Writes a delivery's events in one statement (so one transaction), each claimed by this silo for
    /// immediate delivery. Duplicates (same tenant and dedupe key) are left out; returns the ids written.</summary>
    public async Task<long[]> WriteAsync(Connection connection, IReadOnlyList<InboxEvent> events, CancellationToken cancellationToken)
    {
        if (events.Count == 0)
        {
            return [];
        }

        await using var command = database.CreateCommand(
            """
            INSERT INTO inbox (tenant_id, dedupe_key, provider, connection_id, identity_key, payload, claimed_until)
            SELECT $1, e.dedupe_key, $2, $3, e.identity_key, e.payload, now() + $4
            FROM unnest($5::text[], $6::text[], $7::jsonb[]) AS e(dedupe_key, identity_key, payload)
            ON CONFLICT (tenant_id, dedupe_key) DO NOTHING
            RETURNING id
            """);
        command.Parameters.AddWithValue(connection.TenantId);
        command.Parameters.AddWithValue(connection.Provider);
        command.Parameters.AddWithValue(connection.Id);
        command.Parameters.AddWithValue(_options.ClaimTimeout);
        command.Parameters.AddWithValue(events.Select(e => e.DedupeKey).ToArray());
        command.Parameters.AddWithValue(events.Select(e => e.IdentityKey).ToArray());
        command.Parameters.Add(new NpgsqlParameter { Value = events.Select(e => JsonSerializer.Serialize(e.Payload, Json)).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb });
        var ids = new List<long>(events.Count);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            ids.Add(reader.GetInt64(0));
        }

        return [.. ids];
    }

    /// <summary>Rows this silo claimed when it wrote them, still pending.</summary>
    public Task<List<InboxRow>> LoadAsync(long[] ids, CancellationToken cancellationToken) =>
        ReadRowsAsync(
            "SELECT id, tenant_id, provider, connection_id, identity_key, payload::text, attempts FROM inbox WHERE id = ANY($1) AND status = 'pending' ORDER BY id",
            cancellationToken, ids);

    /// <summary>Claims due rows no live silo holds: pending, due, unclaimed or with an expired claim, and the oldest
    /// pending row of their identity, so that a customer's events are delivered in order.</summary>
    public Task<List<InboxRow>> ClaimDueAsync(int limit, CancellationToken cancellationToken) =>
        ReadRowsAsync(
            """
            UPDATE inbox SET claimed_until = now() + $1
            WHERE id IN (
                SELECT i.id FROM inbox i
                WHERE i.status = 'pending' AND i.next_attempt_at <= now() AND (i.claimed_until IS NULL OR i.claimed_until < now())
                  AND NOT EXISTS (SELECT 1 FROM inbox p WHERE p.status = 'pending' AND p.tenant_id = i.tenant_id AND p.identity_key = i.identity_key AND p.id < i.id)
                ORDER BY i.next_attempt_at, i.id
                LIMIT $2
                FOR UPDATE SKIP LOCKED)
            RETURNING id, tenant_id, provider, connection_id, identity_key, payload::text, attempts
            """,
            cancellationToken, _options.ClaimTimeout, limit);

    /// <summary>Completes a row that holds nothing for a customer (e.g. a HubSpot message that was our own reply).</summary>
    public async Task SkipAsync(long id, string reason, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(
            "UPDATE inbox SET status = 'done', done_at = now(), claimed_until = NULL, last_error = $2 WHERE id = $1");
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
        await using var command = database.CreateCommand(
            """
            UPDATE inbox SET attempts = $2, last_error = $3, claimed_until = NULL,
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
        await using var command = database.CreateCommand(sql);
        foreach (var parameter in parameters)
        {
            command.Parameters.AddWithValue(parameter);
        }

        var rows = new List<InboxRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var payload = JsonSerializer.Deserialize<InboxPayload>(reader.GetString(5), Json)!;
            rows.Add(new InboxRow(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), payload, reader.GetInt32(6)));
        }

        return rows.OrderBy(r => r.Id).ToList();
    }
}
