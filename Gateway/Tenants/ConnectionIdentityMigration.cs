using CustomerGrains.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace CustomerGrains.Gateway.Tenants;

/// <summary>
/// Moves contact identities stored before they were per connection (<c>chatwoot:42</c>) into their connection's
/// namespace (<c>chatwoot@cw1:42</c>, <see cref="Connection.IdentityProvider"/>) wherever the tenant has one connection
/// of that provider, so existing customers keep receiving their contacts' messages. Where a tenant has several, which
/// connection an old identity came from is unknown: it stays as it is (its customer is still found by its <c>cus_</c>
/// id), and the contact's next message starts a customer of its own connection. Runs at every start; once done, it
/// finds nothing to move.
/// </summary>
internal sealed class ConnectionIdentityMigration(TenantRegistry tenants, NpgsqlDataSource database, ILogger<ConnectionIdentityMigration> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var group in tenants.Connections.GroupBy(c => (c.TenantId, c.Provider)).Where(g => g.Count() == 1))
        {
            var connection = group.Single();
            var moves = new List<(string From, string To)> { (connection.Provider, connection.IdentityProvider) };
            if (connection.Provider == Providers.HubSpot)
            {
                moves.Add(("hubspot-thread", Inbox.HubSpotClient.ThreadProvider(connection)));
            }

            foreach (var (from, to) in moves.Where(m => m.From != m.To))
            {
                await using var batch = database.CreateBatch();
                batch.BatchCommands.Add(SqlCommands.Batch(
                    """
                    UPDATE customer_identities old SET provider = $3
                    WHERE old.tenant_id = $1 AND old.provider = $2
                      AND NOT EXISTS (SELECT 1 FROM customer_identities n WHERE n.tenant_id = $1 AND n.provider = $3 AND n.external_id = old.external_id)
                    """, connection.TenantId, from, to));
                batch.BatchCommands.Add(InboxTable.MoveIdentities(connection.TenantId, from, to));
                await batch.ExecuteNonQueryAsync(cancellationToken);
                if (batch.BatchCommands[0].RecordsAffected > 0)
                {
                    Log.IdentitiesMoved(logger, batch.BatchCommands[0].RecordsAffected, connection.TenantId, from, to);
                }
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
