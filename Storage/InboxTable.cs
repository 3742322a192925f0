using Npgsql;
using NpgsqlTypes;

namespace CustomerGrains.Storage;

/// <summary>
/// Every statement that writes the <c>inbox</c> table (Sql/001_inbox.sql). The gateway runs most of them through
/// Gateway/Inbox/InboxStore: a webhook's rows written before the CRM's 2xx, claims, releases and failed attempts.
/// The rest run inside other owners' transactions, which is why they are batch commands: the customer grain marks
/// its rows delivered in the transaction that appends their interactions (so a row is done exactly when its
/// interaction is stored), erasing a customer deletes the rows that carried their data, and the connection
/// identity migration renames pending rows' identity keys together with the identities.
/// </summary>
public static class InboxTable
{
    /// <summary>The columns, in order, that <see cref="ClaimDue"/> returns for each row it claims.</summary>
    public const string RowColumns = "id, tenant_id, provider, connection_id, identity_key, payload::text, attempts, received_at, trace_parent";

    /// <summary>Inserts rows claimed for <paramref name="claimTimeout"/> by the writer, leaving out a tenant's dedupe
    /// keys already there; returns <c>id, tenant_id, dedupe_key, received_at</c> of each row written.</summary>
    public static NpgsqlCommand Insert(
        NpgsqlDataSource database, TimeSpan claimTimeout, string[] tenantIds, string[] dedupeKeys, string[] providers,
        string[] connectionIds, string[] identityKeys, string[] payloads, string?[] traceParents)
    {
        var command = database.CreateCommand(
            """
            INSERT INTO inbox (tenant_id, dedupe_key, provider, connection_id, identity_key, payload, trace_parent, next_attempt_at)
            SELECT e.tenant_id, e.dedupe_key, e.provider, e.connection_id, e.identity_key, e.payload, e.trace_parent, now() + $1
            FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[], $8::text[])
                AS e(tenant_id, dedupe_key, provider, connection_id, identity_key, payload, trace_parent)
            ON CONFLICT (tenant_id, dedupe_key) DO NOTHING
            RETURNING id, tenant_id, dedupe_key, received_at
            """);
        var parameters = command.Parameters;
        parameters.AddWithValue(claimTimeout);
        parameters.AddWithValue(tenantIds);
        parameters.AddWithValue(dedupeKeys);
        parameters.AddWithValue(providers);
        parameters.AddWithValue(connectionIds);
        parameters.AddWithValue(identityKeys);
        parameters.Add(new NpgsqlParameter { Value = payloads, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb });
        parameters.Add(new NpgsqlParameter { Value = traceParents, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        return command;
    }

    /// <summary>Claims up to <paramref name="limit"/> rows that are due (a retry whose back-off passed, or a row whose
    /// claim expired because its silo died) and are the oldest pending row of their customer, so a customer's events
    /// go in order. Claiming pushes <c>next_attempt_at</c> forward by the claim timeout, so the partial index returns
    /// only due rows. Returns <see cref="RowColumns"/>.</summary>
    public static NpgsqlCommand ClaimDue(NpgsqlDataSource database, TimeSpan claimTimeout, int limit) => SqlCommands.Command(database,
        $"""
        UPDATE inbox SET next_attempt_at = now() + $1
        WHERE id IN (
            SELECT i.id FROM inbox i
            WHERE i.status = 'pending' AND i.next_attempt_at <= now()
              AND NOT EXISTS (SELECT 1 FROM inbox p WHERE p.status = 'pending' AND p.tenant_id = i.tenant_id AND p.identity_key = i.identity_key AND p.id < i.id)
            ORDER BY i.next_attempt_at, i.id
            LIMIT $2
            FOR UPDATE SKIP LOCKED)
        RETURNING {RowColumns}
        """, claimTimeout, limit);

    /// <summary>Makes claimed rows due now, for the poller of any silo to deliver.</summary>
    public static NpgsqlCommand Release(NpgsqlDataSource database, long[] ids) =>
        SqlCommands.Command(database, "UPDATE inbox SET next_attempt_at = now() WHERE id = ANY($1) AND status = 'pending'", ids);

    /// <summary>How many rows wait for delivery, and how long the oldest has waited.</summary>
    public static NpgsqlCommand Backlog(NpgsqlDataSource database) =>
        SqlCommands.Command(database, "SELECT count(*), coalesce(now() - min(received_at), interval '0') FROM inbox WHERE status = 'pending'");

    /// <summary>Completes a row that holds nothing for a customer, saying why.</summary>
    public static NpgsqlCommand Skip(NpgsqlDataSource database, long id, string reason) =>
        SqlCommands.Command(database, "UPDATE inbox SET status = 'done', done_at = now(), last_error = $2 WHERE id = $1", id, reason);

    /// <summary>Records a failed attempt: due again after <paramref name="backoff"/>, or set aside as poison.</summary>
    public static NpgsqlCommand Fail(NpgsqlDataSource database, long id, int attempts, string error, bool poison, TimeSpan backoff) => SqlCommands.Command(database,
        """
        UPDATE inbox SET attempts = $2, last_error = $3,
            status = CASE WHEN $4 THEN 'poison' ELSE status END, next_attempt_at = now() + $5
        WHERE id = $1 AND status = 'pending'
        """, id, attempts, error.Length <= 2000 ? error : error[..2000], poison, backoff);

    /// <summary>Marks rows delivered to their customers, for the transaction that stores what they carried.</summary>
    public static NpgsqlBatchCommand MarkDelivered(long[] ids, string[] tenantIds, string[] customerIds) => SqlCommands.Batch(
        """
        UPDATE inbox SET status = 'done', customer_id = d.customer_id, done_at = now(), last_error = NULL
        FROM unnest($1::bigint[], $2::text[], $3::text[]) AS d(id, tenant_id, customer_id)
        WHERE inbox.id = d.id AND inbox.tenant_id = d.tenant_id
        """, ids, tenantIds, customerIds);

    /// <summary>Deletes the rows delivered to a customer or carrying one of their identities, payload and all.</summary>
    public static NpgsqlBatchCommand Erase(string tenantId, string customerId, string[] identityKeys) =>
        SqlCommands.Batch("DELETE FROM inbox WHERE tenant_id = $1 AND (customer_id = $2 OR identity_key = ANY($3))", tenantId, customerId, identityKeys);

    /// <summary>Moves pending rows' identity keys from provider <paramref name="from"/> (<c>chatwoot:42</c>) to
    /// <paramref name="to"/> (<c>chatwoot@cw1:42</c>), as the identities themselves move.</summary>
    public static NpgsqlBatchCommand MoveIdentities(string tenantId, string from, string to) => SqlCommands.Batch(
        "UPDATE inbox SET identity_key = $3 || substr(identity_key, length($2) + 1) WHERE tenant_id = $1 AND status = 'pending' AND left(identity_key, length($2) + 1) = $2 || ':'",
        tenantId, from, to);
}
