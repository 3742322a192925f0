using CustomerGrains.Grains;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace CustomerGrains.Silo.Storage;

/// <summary>The schema migrator, over the PostgreSQL data source every part of a silo shares.</summary>
public sealed class Database
{
    private readonly IEnumerable<SchemaScripts> _schemas;
    private readonly ILogger<Database> _logger;

    public Database(NpgsqlDataSource dataSource, IOptions<DatabaseOptions> options, IEnumerable<SchemaScripts> schemas, ILogger<Database> logger)
    {
        Options = options.Value;
        _schemas = schemas;
        _logger = logger;
        DataSource = dataSource;
    }

    public DatabaseOptions Options { get; }

    public NpgsqlDataSource DataSource { get; }

    /// <summary>Applies every module's scripts not applied yet, under an advisory lock so that silos starting
    /// together do not race. Throws <see cref="StorageUnavailableException"/> when PostgreSQL cannot be reached.</summary>
    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await DataSource.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using (var command = new NpgsqlCommand(
                """
                SELECT pg_advisory_xact_lock(7204311);
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    module     text        NOT NULL,
                    version    int         NOT NULL,
                    name       text        NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (module, version));
                """, connection, transaction))
            {
                await command.ExecuteNonQueryAsync(cancellationToken);
            }

            foreach (var schema in _schemas)
            {
                var applied = new HashSet<int>();
                await using (var command = new NpgsqlCommand("SELECT version FROM schema_migrations WHERE module = $1", connection, transaction))
                {
                    command.Parameters.AddWithValue(schema.Module);
                    await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                    while (await reader.ReadAsync(cancellationToken))
                    {
                        applied.Add(reader.GetInt32(0));
                    }
                }

                foreach (var (version, name, sql) in schema.Load())
                {
                    if (applied.Contains(version))
                    {
                        continue;
                    }

                    await using (var command = new NpgsqlCommand(sql, connection, transaction))
                    {
                        await command.ExecuteNonQueryAsync(cancellationToken);
                    }

                    await using (var command = new NpgsqlCommand("INSERT INTO schema_migrations (module, version, name) VALUES ($1, $2, $3)", connection, transaction))
                    {
                        command.Parameters.AddWithValue(schema.Module);
                        command.Parameters.AddWithValue(version);
                        command.Parameters.AddWithValue(name);
                        await command.ExecuteNonQueryAsync(cancellationToken);
                    }

                    Log.SchemaApplied(_logger, schema.Module, name);
                }
            }

            await transaction.CommitAsync(cancellationToken);
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            throw Unavailable(ex);
        }
    }

    /// <summary>Whether an exception means PostgreSQL could not be reached (as opposed to a bad statement).</summary>
    public static bool IsUnavailable(Exception ex) => ex switch
    {
        PostgresException pg => pg.SqlState.StartsWith("08", StringComparison.Ordinal) // connection exceptions
            || pg.SqlState.StartsWith("57P", StringComparison.Ordinal), // admin shutdown, crash shutdown, cannot connect now
        NpgsqlException => true, // network and protocol failures, pool exhaustion
        System.Net.Sockets.SocketException or TimeoutException => true,
        _ => false,
    };

    /// <summary>A clear exception for "PostgreSQL is unreachable", naming the server but not the password.</summary>
    public StorageUnavailableException Unavailable(Exception inner) =>
        new($"PostgreSQL is unreachable ({Options.Redacted()}): {inner.Message}", inner);
}
