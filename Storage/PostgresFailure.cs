using Npgsql;

namespace CustomerGrains.Storage;

/// <summary>How a PostgreSQL failure is told apart.</summary>
public static class PostgresFailure
{
    /// <summary>A failure of the connection, not of a statement: every statement would fail alike.</summary>
    public static bool IsUnreachable(Exception ex) => ex is NpgsqlException and not PostgresException;
}
