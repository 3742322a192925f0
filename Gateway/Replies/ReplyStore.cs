using Npgsql;

namespace CustomerGrains.Gateway.Replies;

/// <summary>A reply in the outbox: what to send where, and how its delivery stands.</summary>
public sealed record OutboxReply(
    string TenantId,
    string ReplyId,
    string CustomerId,
    string Provider,
    string ConnectionId,
    string ConversationId,
    string Channel,
    string Text,
    bool Private,
    string? SuggestionId,
    string SentBy,
    ReplyStatus Status,
    int Attempts,
    string? MessageId,
    string? LastError,
    DateTimeOffset CreatedAt,
    DateTimeOffset? SentAt);

/// <summary>Where a reply stands: waiting for (another) attempt, in the CRM, or given up with the reason.</summary>
public enum ReplyStatus
{
    Queued,
    Sent,
    Failed,
}

/// <summary>The <c>reply_outbox</c> table (Gateway/Sql/001_reply_outbox.sql): its one owner.</summary>
public sealed class ReplyStore(NpgsqlDataSource database)
{
    private const string Columns =
        "tenant_id, reply_id, customer_id, provider, connection_id, conversation_id, channel, body, private, suggestion_id, sent_by, status, attempts, message_id, last_error, created_at, sent_at";

    /// <summary>Writes a reply to send, or returns the one written earlier under the same idempotency key (and
    /// whether this call wrote it).</summary>
    public async Task<(OutboxReply Reply, bool Written)> AddAsync(OutboxReply reply, string idempotencyKey, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(
            $"""
            WITH written AS (
                INSERT INTO reply_outbox (tenant_id, reply_id, idempotency_key, customer_id, provider, connection_id, conversation_id, channel, body, private, suggestion_id, sent_by, status)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $12, $8, $9, $10, $11, 'queued')
                ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
                RETURNING {Columns}, true AS written)
            SELECT * FROM written
            UNION ALL
            SELECT {Columns}, false FROM reply_outbox WHERE tenant_id = $1 AND idempotency_key = $3 AND NOT EXISTS (SELECT 1 FROM written)
            """);
        command.Parameters.AddWithValue(reply.TenantId);
        command.Parameters.AddWithValue(reply.ReplyId);
        command.Parameters.AddWithValue(idempotencyKey);
        command.Parameters.AddWithValue(reply.CustomerId);
        command.Parameters.AddWithValue(reply.Provider);
        command.Parameters.AddWithValue(reply.ConnectionId);
        command.Parameters.AddWithValue(reply.ConversationId);
        command.Parameters.AddWithValue(reply.Text);
        command.Parameters.AddWithValue(reply.Private);
        command.Parameters.AddWithValue((object?)reply.SuggestionId ?? DBNull.Value);
        command.Parameters.AddWithValue(reply.SentBy);
        command.Parameters.AddWithValue(reply.Channel);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (Read(reader), reader.GetBoolean(17));
    }

    public async Task<OutboxReply?> GetAsync(string tenantId, string customerId, string replyId, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand($"SELECT {Columns} FROM reply_outbox WHERE tenant_id = $1 AND customer_id = $2 AND reply_id = $3");
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(customerId);
        command.Parameters.AddWithValue(replyId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    /// <summary>Claims replies that are due (new, retried after their back-off, or whose claim expired because their
    /// silo died) for <paramref name="claim"/>.</summary>
    public async Task<List<OutboxReply>> ClaimDueAsync(int limit, TimeSpan claim, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(
            $"""
            UPDATE reply_outbox SET next_attempt_at = now() + $1
            WHERE (tenant_id, reply_id) IN (
                SELECT tenant_id, reply_id FROM reply_outbox WHERE status = 'queued' AND next_attempt_at <= now()
                ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED)
            RETURNING {Columns}
            """);
        command.Parameters.AddWithValue(claim);
        command.Parameters.AddWithValue(limit);
        var replies = new List<OutboxReply>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            replies.Add(Read(reader));
        }

        return replies;
    }

    /// <summary>Records the CRM's message id.</summary>
    public async Task SentAsync(OutboxReply reply, string messageId, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(
            "UPDATE reply_outbox SET status = 'sent', message_id = $3, sent_at = now(), attempts = attempts + 1, last_error = NULL WHERE tenant_id = $1 AND reply_id = $2");
        command.Parameters.AddWithValue(reply.TenantId);
        command.Parameters.AddWithValue(reply.ReplyId);
        command.Parameters.AddWithValue(messageId);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Records a failed attempt: tried again after <paramref name="retryAfter"/>, or given up (failed) with
    /// the reason when there is none.</summary>
    public async Task FailedAsync(OutboxReply reply, string error, TimeSpan? retryAfter, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(
            """
            UPDATE reply_outbox SET attempts = attempts + 1, last_error = $3,
                status = CASE WHEN $4::interval IS NULL THEN 'failed' ELSE status END,
                next_attempt_at = now() + coalesce($4::interval, interval '0')
            WHERE tenant_id = $1 AND reply_id = $2 AND status = 'queued'
            """);
        command.Parameters.AddWithValue(reply.TenantId);
        command.Parameters.AddWithValue(reply.ReplyId);
        command.Parameters.AddWithValue(error.Length <= 2000 ? error : error[..2000]);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)retryAfter ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Interval });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static OutboxReply Read(NpgsqlDataReader reader) => new(
        reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetString(5), reader.GetString(6), reader.GetString(7),
        reader.GetBoolean(8), reader.IsDBNull(9) ? null : reader.GetString(9), reader.GetString(10), Enum.Parse<ReplyStatus>(reader.GetString(11), ignoreCase: true),
        reader.GetInt32(12), reader.IsDBNull(13) ? null : reader.GetString(13), reader.IsDBNull(14) ? null : reader.GetString(14),
        reader.GetFieldValue<DateTimeOffset>(15), reader.IsDBNull(16) ? null : reader.GetFieldValue<DateTimeOffset>(16));

    /// <summary>The CRM conversation a reply goes to: <paramref name="conversationId"/> if the customer is in it, else the
    /// one they wrote in or were written to last; with the connection it came through and its channel.</summary>
    public async Task<(string Source, string ConversationId, string Channel)?> ConversationAsync(string tenantId, string customerId, string? conversationId, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(
            """
            SELECT source, conversation_id, channel FROM customer_interactions
            WHERE tenant_id = $1 AND customer_id = $2 AND conversation_id IS NOT NULL AND source LIKE '%:%' AND ($3::text IS NULL OR conversation_id = $3)
            ORDER BY occurred_at DESC LIMIT 1
            """);
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(customerId);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)conversationId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? (reader.GetString(0), reader.GetString(1), reader.GetString(2)) : null;
    }
}
