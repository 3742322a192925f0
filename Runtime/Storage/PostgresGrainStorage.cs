using CustomerGrains.Runtime.Configuration;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace CustomerGrains.Runtime.Storage;

/// <summary>Grain state in the <c>grain_state</c> table, with optimistic concurrency on <c>version</c>.</summary>
internal sealed class PostgresGrainStorage(Database database, IOptions<ClusterOptions> cluster, SiloLifetime lifetime) : IGrainStorage
{
    private readonly string _serviceId = cluster.Value.ServiceId;

    public async Task<StoredState> ReadAsync(GrainId grainId, string stateName, CancellationToken cancellationToken)
    {
        lifetime.ThrowIfKilled();
        try
        {
            await using var command = database.DataSource.CreateCommand(
                "SELECT payload::text, version FROM grain_state WHERE service_id = $1 AND grain_type = $2 AND grain_key = $3 AND state_name = $4");
            AddKey(command, grainId, stateName);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return default;
            }

            return new StoredState(System.Text.Encoding.UTF8.GetBytes(reader.GetString(0)), reader.GetInt64(1));
        }
        catch (Exception ex) when (Database.IsUnavailable(ex))
        {
            throw database.Unavailable(ex);
        }
    }

    public async Task<long> WriteAsync(GrainId grainId, string stateName, byte[] payload, long expectedVersion, CancellationToken cancellationToken)
    {
        lifetime.ThrowIfKilled();
        try
        {
            // Version 0 means "nothing stored": the insert must not overwrite a row another activation created.
            await using var command = database.DataSource.CreateCommand(expectedVersion == 0
                ? """
                  INSERT INTO grain_state (service_id, grain_type, grain_key, state_name, version, payload)
                  VALUES ($1, $2, $3, $4, 1, $5) ON CONFLICT DO NOTHING RETURNING version
                  """
                : """
                  UPDATE grain_state SET payload = $5, version = version + 1, updated_at = now()
                  WHERE service_id = $1 AND grain_type = $2 AND grain_key = $3 AND state_name = $4 AND version = $6
                  RETURNING version
                  """);
            AddKey(command, grainId, stateName);
            command.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = payload, NpgsqlDbType = NpgsqlDbType.Jsonb });
            if (expectedVersion != 0)
            {
                command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = expectedVersion });
            }

            var result = await command.ExecuteScalarAsync(cancellationToken);
            return result is long version
                ? version
                : throw new InconsistentStateException(
                    $"State '{stateName}' of grain {grainId} changed since version {expectedVersion} was read; another activation wrote it.");
        }
        catch (Exception ex) when (Database.IsUnavailable(ex))
        {
            throw database.Unavailable(ex);
        }
    }

    public async Task ClearAsync(GrainId grainId, string stateName, long expectedVersion, CancellationToken cancellationToken)
    {
        lifetime.ThrowIfKilled();
        try
        {
            await using var command = database.DataSource.CreateCommand(
                "DELETE FROM grain_state WHERE service_id = $1 AND grain_type = $2 AND grain_key = $3 AND state_name = $4 AND version = $5");
            AddKey(command, grainId, stateName);
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = expectedVersion });
            if (await command.ExecuteNonQueryAsync(cancellationToken) == 0 && expectedVersion != 0)
            {
                throw new InconsistentStateException(
                    $"State '{stateName}' of grain {grainId} changed since version {expectedVersion} was read; another activation wrote it.");
            }
        }
        catch (Exception ex) when (Database.IsUnavailable(ex))
        {
            throw database.Unavailable(ex);
        }
    }

    private void AddKey(NpgsqlCommand command, GrainId grainId, string stateName)
    {
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _serviceId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = grainId.Type });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = grainId.Key });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = stateName });
    }
}
