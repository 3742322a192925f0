using CustomerGrains.Silo.Storage;

namespace CustomerGrains.Silo.Hosting;

/// <summary>Applies the schema (Orleans' tables and queries, the grains' tables) before the silo starts; PostgreSQL
/// unreachable stops the start with the reason.</summary>
internal sealed class SchemaMigration(Database database, ILogger<SchemaMigration> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        Log.Starting(logger, database.Options.Redacted());
        await database.MigrateAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
