using Npgsql;

namespace CustomerGrains.Testing;

/// <summary>
/// A PostgreSQL database created for one test (class) and dropped afterwards, on the server named by
/// <c>CUSTOMERGRAINS_PG_ADMIN</c> (test.sh provisions it and sets it).
/// </summary>
public sealed class TestDatabase : IAsyncDisposable
{
    private readonly string _adminConnectionString;

    private TestDatabase(string adminConnectionString, string name)
    {
        _adminConnectionString = adminConnectionString;
        Name = name;
        ConnectionString = new NpgsqlConnectionStringBuilder(OwnerConnectionString) { Database = name }.ConnectionString;
    }

    public string Name { get; }

    public string ConnectionString { get; }

    public static string AdminConnectionString =>
        Environment.GetEnvironmentVariable("CUSTOMERGRAINS_PG_ADMIN")
        ?? $"Host=127.0.0.1;Port=55432;Username=postgres;Password={LocalSecret("PG_ADMIN_PASSWORD")};Database=postgres";

    /// <summary>Whom the silos under test connect as, and who owns the test's database: the silo's own role as the
    /// scripts provision it (no superuser), so that the schema and every query are proven without a superuser's
    /// rights.</summary>
    private static string OwnerConnectionString =>
        Environment.GetEnvironmentVariable("CUSTOMERGRAINS_DB")
        ?? (Environment.GetEnvironmentVariable("CUSTOMERGRAINS_PG_ADMIN") is { } admin
            ? admin
            : $"Host=127.0.0.1;Port=55432;Username=customergrains;Password={LocalSecret("PG_APP_PASSWORD")};Database=customergrains");

    /// <summary>A password of the scripts' local server (deploy/scripts/postgres.sh), for `dotnet test` run without
    /// test.sh once test.sh or run.sh has provisioned it.</summary>
    private static string LocalSecret(string name)
    {
        var state = Environment.GetEnvironmentVariable("XDG_STATE_HOME") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state");
        foreach (var file in new[] { "/var/lib/customergrains/postgres-55432.secrets", Path.Combine(state, "customergrains", "postgres-55432.secrets") })
        {
            if (File.Exists(file))
            {
                var line = File.ReadLines(file).FirstOrDefault(l => l.StartsWith(name + "=", StringComparison.Ordinal));
                if (line is not null)
                {
                    return line[(name.Length + 1)..];
                }
            }
        }

        return "";
    }

    public static async Task<TestDatabase> CreateAsync()
    {
        var name = "cg_test_" + Guid.NewGuid().ToString("N")[..16];
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        try
        {
            await connection.OpenAsync();
        }
        catch (Exception ex) when (ex is NpgsqlException or System.Net.Sockets.SocketException)
        {
            throw new InvalidOperationException(
                $"The tests need PostgreSQL at '{AdminConnectionString}'. Run them with ./test.sh, which provisions it, or set CUSTOMERGRAINS_PG_ADMIN.", ex);
        }

        var owner = new NpgsqlConnectionStringBuilder(OwnerConnectionString).Username ?? "postgres";
        await using var command = new NpgsqlCommand($"CREATE DATABASE {name} OWNER \"{owner}\"", connection);
        await command.ExecuteNonQueryAsync();
        return new TestDatabase(AdminConnectionString, name);
    }

    public async Task<T?> ScalarAsync<T>(string sql, params object[] parameters)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
        {
            command.Parameters.AddWithValue(parameter);
        }

        var result = await command.ExecuteScalarAsync();
        return result is null or DBNull ? default : (T)result;
    }

    public async Task ExecuteAsync(string sql, params object[] parameters) => await ScalarAsync<object>(sql, parameters);

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(_adminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync();
    }
}
