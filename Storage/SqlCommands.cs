using Npgsql;

namespace CustomerGrains.Storage;

/// <summary>A statement with positional parameters ($1, $2, ...) in the order given.</summary>
public static class SqlCommands
{
    /// <summary>A command on the data source's next connection.</summary>
    public static NpgsqlCommand Command(NpgsqlDataSource database, string sql, params object[] parameters)
    {
        var command = database.CreateCommand(sql);
        foreach (var parameter in parameters)
        {
            command.Parameters.AddWithValue(parameter);
        }

        return command;
    }

    /// <summary>A command of a batch, which runs in the batch's transaction.</summary>
    public static NpgsqlBatchCommand Batch(string sql, params object[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var parameter in parameters)
        {
            command.Parameters.AddWithValue(parameter);
        }

        return command;
    }
}
