using Npgsql;

namespace CustomerGrains.Gateway.Mediation;

/// <summary>The <c>audit_log</c> table (Grains/Sql/001_customers.sql): the one class that writes it. Who (the key and
/// its role) did what (the action) to which target (a customer by its <c>cus_</c> id), and how it ended.</summary>
public sealed class AuditLog(NpgsqlDataSource database)
{
    public async Task WriteAsync(string tenantId, string actor, string action, string target, string outcome)
    {
        await using var command = database.CreateCommand("INSERT INTO audit_log (tenant_id, actor, action, target, outcome) VALUES ($1, $2, $3, $4, $5)");
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(actor);
        command.Parameters.AddWithValue(action);
        command.Parameters.AddWithValue(target);
        command.Parameters.AddWithValue(outcome);
        await command.ExecuteNonQueryAsync(CancellationToken.None);
    }

    /// <summary>Erases the rows that name an erased customer by an identity (rows written before the log named
    /// customers by id: the identity in the path, an email perhaps). Rows naming the customer's id stay: who erased
    /// whom, and when.</summary>
    public async Task ForgetAsync(string tenantId, IReadOnlyList<string> identities, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("DELETE FROM audit_log WHERE tenant_id = $1 AND target = ANY($2)");
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(identities.ToArray());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
