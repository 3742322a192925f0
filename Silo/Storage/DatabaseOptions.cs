using Microsoft.Extensions.Options;
using Npgsql;

namespace CustomerGrains.Silo.Storage;

/// <summary>The PostgreSQL database that is the system of record (configuration section <c>Database</c>).</summary>
public sealed class DatabaseOptions
{
    public const string SectionName = "Database";

    /// <summary>An Npgsql connection string. Required.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>The connection string with its password removed, for logs and error messages.</summary>
    public string Redacted()
    {
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(ConnectionString);
            builder.Remove("Password");
            return builder.ConnectionString;
        }
        catch (ArgumentException)
        {
            return "(unparsable connection string)";
        }
    }
}

internal sealed class DatabaseOptionsValidator : IValidateOptions<DatabaseOptions>
{
    public ValidateOptionsResult Validate(string? name, DatabaseOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            return ValidateOptionsResult.Fail("Database:ConnectionString must be set (run.sh sets it from CUSTOMERGRAINS_DB or the database it provisions).");
        }

        try
        {
            _ = new NpgsqlConnectionStringBuilder(options.ConnectionString);
        }
        catch (ArgumentException ex)
        {
            return ValidateOptionsResult.Fail($"Database:ConnectionString is not a valid Npgsql connection string: {ex.Message}");
        }

        return ValidateOptionsResult.Success;
    }
}
