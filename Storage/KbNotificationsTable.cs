using Npgsql;

namespace CustomerGrains.Storage;

/// <summary>
/// Every statement on <c>kb_notifications</c> (Sql/002_kb_notifications.sql), the outbox of escalation notifications:
/// the knowledge base writes a row in the transaction that escalates the question (Grains/Knowledge/QuestionFlow), and
/// the gateway's notifier claims due rows, sends them and records each attempt (Gateway/Knowledge/EscalationNotifier).
/// </summary>
public static class KbNotificationsTable
{
    /// <summary>Adds a notification, in the caller's transaction.</summary>
    public static NpgsqlCommand Insert(NpgsqlConnection connection, NpgsqlTransaction transaction, string tenantId, string questionId, string payload)
    {
        var command = new NpgsqlCommand("INSERT INTO kb_notifications (tenant_id, question_id, payload) VALUES ($1, $2, $3::jsonb)", connection, transaction);
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(questionId);
        command.Parameters.AddWithValue(payload);
        return command;
    }

    /// <summary>Locks up to <paramref name="limit"/> due rows for the caller's transaction, skipping those another silo
    /// holds: <c>id, tenant_id, payload, attempts</c>.</summary>
    public static NpgsqlCommand ClaimDue(NpgsqlConnection connection, NpgsqlTransaction transaction, int limit)
    {
        var command = new NpgsqlCommand(
            "SELECT id, tenant_id, payload::text, attempts FROM kb_notifications WHERE status = 'pending' AND next_attempt_at <= now() ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
            connection, transaction);
        command.Parameters.AddWithValue(limit);
        return command;
    }

    /// <summary>Records an attempt: sent when <paramref name="error"/> is null, failed for good at
    /// <paramref name="maxAttempts"/>, otherwise due again after <paramref name="backoff"/>.</summary>
    public static NpgsqlCommand RecordAttempt(NpgsqlConnection connection, NpgsqlTransaction transaction, long id, int attempts, string? error, int maxAttempts, TimeSpan backoff)
    {
        var command = new NpgsqlCommand(
            """
            UPDATE kb_notifications SET attempts = $2, last_error = $3,
                status = CASE WHEN $3::text IS NULL THEN 'sent' WHEN $2 >= $4 THEN 'failed' ELSE 'pending' END,
                next_attempt_at = now() + $5
            WHERE id = $1
            """, connection, transaction);
        command.Parameters.AddWithValue(id);
        command.Parameters.AddWithValue(attempts);
        command.Parameters.AddWithValue((object?)error ?? DBNull.Value);
        command.Parameters.AddWithValue(maxAttempts);
        command.Parameters.AddWithValue(backoff);
        return command;
    }
}
