using System.Text.Json;
using CustomerGrains.Storage;
using Npgsql;
using NpgsqlTypes;

namespace CustomerGrains.Grains;

/// <summary>What a customer activation loads: identities, the newest turns and the history's figures.</summary>
public sealed record CustomerHistory(
    IReadOnlyList<ExternalIdentity> Identities,
    IReadOnlyList<Interaction> NewestFirst,
    int Count,
    int CountLast30Days,
    DateTimeOffset? FirstSeen,
    DateTimeOffset? LastSeen,
    double SentimentSum,
    int SentimentCount);

/// <summary>The customer grain's SQL: history rows, identities and inbox rows of one customer.</summary>
public sealed class CustomerStore : IAsyncDisposable
{
    // Appends come from the inbox's delivery loops (32 at most at once) and the API: two statements in flight keep
    // PostgreSQL busy while the next batch gathers.
    private const int AppendWriters = 2;
    private const int MaxAppends = 64;
    private readonly NpgsqlDataSource _database;
    private readonly GroupCommit<PendingAppend, long> _appends;

    public CustomerStore(NpgsqlDataSource database)
    {
        _database = database;
        _appends = new(AppendManyAsync, AppendWriters, MaxAppends);
    }

    public ValueTask DisposeAsync() => _appends.DisposeAsync();

    public async Task<CustomerHistory> LoadAsync(string tenantId, string customerId, int newest)
    {
        await using var batch = _database.CreateBatch();
        batch.BatchCommands.Add(SqlCommands.Batch("SELECT provider, external_id FROM customer_identities WHERE tenant_id = $1 AND customer_id = $2 ORDER BY created_at", tenantId, customerId));
        batch.BatchCommands.Add(SqlCommands.Batch(
            """
            SELECT count(*), count(*) FILTER (WHERE occurred_at > now() - interval '30 days'), min(occurred_at), max(occurred_at),
                   coalesce(sum(sentiment) FILTER (WHERE direction = 'Inbound'), 0), count(sentiment) FILTER (WHERE direction = 'Inbound')
            FROM customer_interactions WHERE tenant_id = $1 AND customer_id = $2
            """, tenantId, customerId));
        batch.BatchCommands.Add(SqlCommands.Batch(
            $"SELECT {InteractionColumns} FROM customer_interactions WHERE tenant_id = $1 AND customer_id = $2 ORDER BY occurred_at DESC, received_at DESC LIMIT {newest}",
            tenantId, customerId));

        await using var reader = await batch.ExecuteReaderAsync();
        var identities = new List<ExternalIdentity>();
        while (await reader.ReadAsync())
        {
            identities.Add(new ExternalIdentity(reader.GetString(0), reader.GetString(1)));
        }

        await reader.NextResultAsync();
        await reader.ReadAsync();
        var (count, last30) = ((int)reader.GetInt64(0), (int)reader.GetInt64(1));
        DateTimeOffset? first = reader.IsDBNull(2) ? null : reader.GetFieldValue<DateTimeOffset>(2);
        DateTimeOffset? last = reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3);
        var (sentimentSum, sentimentCount) = (reader.GetDouble(4), (int)reader.GetInt64(5));

        await reader.NextResultAsync();
        var turns = new List<Interaction>();
        while (await reader.ReadAsync())
        {
            turns.Add(ReadInteraction(reader));
        }

        return new CustomerHistory(identities, turns, count, last30, first, last, sentimentSum, sentimentCount);
    }

    /// <summary>Inserts the interaction unless its (source, event id) is there, marks the inbox row done, and updates
    /// the customer's directory row (profile, last activity), in one statement (so one transaction and one round
    /// trip), shared with the appends of other customers made at the same time (<see cref="GroupCommit{TItem, TResult}"/>).
    /// Returns the interaction's sequence number when it was new, 0 when it was there already.</summary>
    public Task<long> AppendAsync(string tenantId, string customerId, Interaction interaction, long? inboxId, CustomerState profile) =>
        _appends.WriteAsync(new PendingAppend(tenantId, customerId, interaction, inboxId, profile.Name, [.. profile.Emails], [.. profile.Phones]));

    private sealed record PendingAppend(string TenantId, string CustomerId, Interaction Interaction, long? InboxId, string? Name, string[] Emails, string[] Phones);

    private async Task<long[]> AppendManyAsync(IReadOnlyList<PendingAppend> appends)
    {
        // The appends and their inbox rows commit together without waiting for the WAL flush: if PostgreSQL crashed
        // before the flush, both would be undone, the rows would still be pending, and the events delivered again
        // (appends are idempotent by event id). The acknowledgement, which a CRM relies on, waited for its flush already.
        await using var batch = _database.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand("SET LOCAL synchronous_commit TO off"));
        var delivered = appends.Where(a => a.InboxId is not null).ToArray();
        if (delivered.Length > 0)
        {
            // Before the append in the batch (one implicit transaction), so the reader's one result is the append's.
            batch.BatchCommands.Add(InboxTable.MarkDelivered(
                [.. delivered.Select(a => a.InboxId!.Value)], [.. delivered.Select(a => a.TenantId)], [.. delivered.Select(a => a.CustomerId)]));
        }

        var command = new NpgsqlBatchCommand(
            """
            WITH input AS (
                SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[],
                                     $9::text[], $10::float8[], $11::text[], $12::jsonb[], $13::jsonb[], $14::text[], $15::boolean[])
                    WITH ORDINALITY AS i(tenant_id, source, event_id, customer_id, channel, direction, body, occurred_at,
                                         conversation_id, sentiment, name, emails, phones, author, from_bot, n)),
            added AS (
                INSERT INTO customer_interactions (tenant_id, source, event_id, customer_id, channel, direction, body, occurred_at, conversation_id, sentiment, author, from_bot)
                SELECT tenant_id, source, event_id, customer_id, channel, direction, body, occurred_at, conversation_id, sentiment, author, from_bot FROM input ORDER BY n
                ON CONFLICT DO NOTHING
                RETURNING tenant_id, source, event_id, seq),
            listed AS (
                INSERT INTO customers (tenant_id, customer_id, name, emails, phones, last_active_at)
                SELECT DISTINCT ON (tenant_id, customer_id) tenant_id, customer_id, name,
                       ARRAY(SELECT jsonb_array_elements_text(emails)), ARRAY(SELECT jsonb_array_elements_text(phones)), occurred_at
                FROM input ORDER BY tenant_id, customer_id, n DESC
                ON CONFLICT (tenant_id, customer_id) DO UPDATE SET
                    name = EXCLUDED.name, emails = EXCLUDED.emails, phones = EXCLUDED.phones,
                    last_active_at = greatest(customers.last_active_at, EXCLUDED.last_active_at)
                -- Rewritten (and re-indexed) only when the profile changed or the activity moved by a minute: a
                -- burst of messages from one customer costs one directory write, not one each.
                WHERE customers.last_active_at < EXCLUDED.last_active_at - interval '1 minute'
                   OR customers.name IS DISTINCT FROM EXCLUDED.name OR customers.emails <> EXCLUDED.emails OR customers.phones <> EXCLUDED.phones)
            -- An event sent twice in one batch is new only for the first of them.
            SELECT CASE WHEN input.n = min(input.n) OVER (PARTITION BY input.tenant_id, input.source, input.event_id) THEN coalesce(added.seq, 0) ELSE 0 END
            FROM input LEFT JOIN added USING (tenant_id, source, event_id)
            ORDER BY input.n
            """);
        var parameters = command.Parameters;
        parameters.AddWithValue(appends.Select(a => a.TenantId).ToArray());
        parameters.AddWithValue(appends.Select(a => a.Interaction.Source).ToArray());
        parameters.AddWithValue(appends.Select(a => a.Interaction.EventId).ToArray());
        parameters.AddWithValue(appends.Select(a => a.CustomerId).ToArray());
        parameters.AddWithValue(appends.Select(a => a.Interaction.Channel).ToArray());
        parameters.AddWithValue(appends.Select(a => a.Interaction.Direction.ToString()).ToArray());
        parameters.AddWithValue(appends.Select(a => a.Interaction.Text).ToArray());
        parameters.AddWithValue(appends.Select(a => a.Interaction.OccurredAt).ToArray());
        parameters.Add(new NpgsqlParameter { Value = appends.Select(a => a.Interaction.ConversationId).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        parameters.Add(new NpgsqlParameter { Value = appends.Select(a => a.Interaction.Sentiment).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Double });
        parameters.Add(new NpgsqlParameter { Value = appends.Select(a => a.Name).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        parameters.Add(new NpgsqlParameter { Value = appends.Select(a => JsonSerializer.Serialize(a.Emails)).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb });
        parameters.Add(new NpgsqlParameter { Value = appends.Select(a => JsonSerializer.Serialize(a.Phones)).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb });
        parameters.Add(new NpgsqlParameter { Value = appends.Select(a => a.Interaction.Author).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        parameters.AddWithValue(appends.Select(a => a.Interaction.FromBot).ToArray());
        batch.BatchCommands.Add(command);

        var seqs = new long[appends.Count];
        await using var reader = await batch.ExecuteReaderAsync();
        for (var i = 0; await reader.ReadAsync(); i++)
        {
            seqs[i] = reader.GetInt64(0);
        }

        return seqs;
    }

    /// <summary>Up to <paramref name="limit"/> interactions older than <paramref name="before"/> (by when they happened,
    /// then as stored), newest first.</summary>
    public async Task<ConversationPage> PageAsync(string tenantId, string customerId, ConversationCursor? before, int limit)
    {
        await using var command = _database.CreateCommand(
            $"""
            SELECT seq, {InteractionColumns} FROM customer_interactions
            WHERE tenant_id = $1 AND customer_id = $2 AND ($3::timestamptz IS NULL OR (occurred_at, seq) < ($3, $4))
            ORDER BY occurred_at DESC, seq DESC LIMIT $5
            """);
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(customerId);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)before?.OccurredAt ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.AddWithValue(before?.Seq ?? 0L);
        command.Parameters.AddWithValue(limit + 1);
        var items = await ReadStoredAsync(command);
        return items.Count > limit
            ? new ConversationPage(items[..limit], new ConversationCursor(items[limit - 1].Interaction.OccurredAt, items[limit - 1].Seq).ToString())
            : new ConversationPage(items, null);
    }

    /// <summary>The interactions stored after sequence number <paramref name="seq"/>, in the order they were stored (at
    /// most <paramref name="limit"/>).</summary>
    public async Task<List<StoredInteraction>> SinceAsync(string tenantId, string customerId, long seq, int limit)
    {
        await using var command = _database.CreateCommand(
            $"SELECT seq, {InteractionColumns} FROM customer_interactions WHERE tenant_id = $1 AND customer_id = $2 AND seq > $3 ORDER BY seq LIMIT $4");
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(customerId);
        command.Parameters.AddWithValue(seq);
        command.Parameters.AddWithValue(limit);
        return await ReadStoredAsync(command);
    }

    private static async Task<List<StoredInteraction>> ReadStoredAsync(NpgsqlCommand command)
    {
        await using var reader = await command.ExecuteReaderAsync();
        var items = new List<StoredInteraction>();
        while (await reader.ReadAsync())
        {
            items.Add(new StoredInteraction(reader.GetInt64(0), ReadInteraction(reader, 1)));
        }

        return items;
    }

    public async Task<IReadOnlyList<Interaction>> HistoryAsync(string tenantId, string customerId)
    {
        await using var command = _database.CreateCommand(
            $"SELECT {InteractionColumns} FROM customer_interactions WHERE tenant_id = $1 AND customer_id = $2 ORDER BY occurred_at, received_at");
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(customerId);
        await using var reader = await command.ExecuteReaderAsync();
        var history = new List<Interaction>();
        while (await reader.ReadAsync())
        {
            history.Add(ReadInteraction(reader));
        }

        return history;
    }

    public async Task<IReadOnlyList<InboxRecord>> InboxAsync(string tenantId, string customerId, IReadOnlyList<ExternalIdentity> identities)
    {
        await using var command = _database.CreateCommand(
            """
            SELECT id, provider, connection_id, status, received_at, payload::text FROM inbox
            WHERE tenant_id = $1 AND (customer_id = $2 OR identity_key = ANY($3)) ORDER BY id
            """);
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(customerId);
        command.Parameters.AddWithValue(identities.Select(i => i.ToString()).ToArray());
        await using var reader = await command.ExecuteReaderAsync();
        var records = new List<InboxRecord>();
        while (await reader.ReadAsync())
        {
            records.Add(new InboxRecord(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                reader.GetFieldValue<DateTimeOffset>(4), reader.IsDBNull(5) ? null : reader.GetString(5)));
        }

        return records;
    }

    /// <summary>The customer's state as the runtime before Orleans stored it, if it is still there (see
    /// Sql/007_legacy_grain_state.sql).</summary>
    public async Task<CustomerState?> ReadLegacyStateAsync(string grainKey)
    {
        await using var command = _database.CreateCommand("SELECT payload::text FROM grain_state WHERE grain_type = 'customer' AND grain_key = $1 AND state_name = 'customer'");
        command.Parameters.AddWithValue(grainKey);
        return await command.ExecuteScalarAsync() is string payload
            ? System.Text.Json.JsonSerializer.Deserialize<CustomerState>(payload, new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web))
            : null;
    }

    /// <summary>Forgets the state the runtime before Orleans stored, once Orleans' storage holds it.</summary>
    public async Task DeleteLegacyStateAsync(string grainKey)
    {
        await using var command = _database.CreateCommand("DELETE FROM grain_state WHERE grain_type = 'customer' AND grain_key = $1");
        command.Parameters.AddWithValue(grainKey);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Deletes the history and identities, the suggestions shown for the customer and the inbox rows that carried
    /// their data, in one transaction. (The audit log's old rows that named them are the gateway's to erase.)</summary>
    public async Task EraseAsync(string tenantId, string customerId, IReadOnlyList<ExternalIdentity> identities)
    {
        await using var connection = await _database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using var batch = new NpgsqlBatch(connection, transaction);
        batch.BatchCommands.Add(SqlCommands.Batch("DELETE FROM customer_interactions WHERE tenant_id = $1 AND customer_id = $2", tenantId, customerId));
        batch.BatchCommands.Add(SqlCommands.Batch("DELETE FROM customer_identities WHERE tenant_id = $1 AND customer_id = $2", tenantId, customerId));
        batch.BatchCommands.Add(SqlCommands.Batch("DELETE FROM customers WHERE tenant_id = $1 AND customer_id = $2", tenantId, customerId));
        batch.BatchCommands.Add(Suggestions.SuggestionAudit.EraseCommand(tenantId, customerId));
        batch.BatchCommands.Add(InboxTable.Erase(tenantId, customerId, [.. identities.Select(i => i.ToString())]));
        batch.BatchCommands.Add(SqlCommands.Batch("DELETE FROM grain_state WHERE grain_type = 'customer' AND grain_key = $1 || '/' || $2", tenantId, customerId));

        await batch.ExecuteNonQueryAsync();
        await transaction.CommitAsync();
    }

    private const string InteractionColumns = "source, event_id, channel, direction, body, occurred_at, conversation_id, sentiment, author, from_bot";

    private static Interaction ReadInteraction(NpgsqlDataReader reader, int first = 0) => new(
        reader.GetString(first),
        reader.GetString(first + 1),
        reader.GetString(first + 2),
        Enum.Parse<InteractionDirection>(reader.GetString(first + 3)),
        reader.GetString(first + 4),
        reader.GetFieldValue<DateTimeOffset>(first + 5),
        reader.IsDBNull(first + 6) ? null : reader.GetString(first + 6),
        reader.IsDBNull(first + 7) ? null : reader.GetDouble(first + 7),
        reader.IsDBNull(first + 8) ? null : reader.GetString(first + 8),
        reader.GetBoolean(first + 9));
}

/// <summary>Where a page of a conversation ends: the last interaction's time and sequence number, as
/// <c>{UTC ticks}.{seq}</c> (ticks keep PostgreSQL's microseconds exactly).</summary>
public sealed record ConversationCursor(DateTimeOffset OccurredAt, long Seq)
{
    public override string ToString() => FormattableString.Invariant($"{OccurredAt.UtcTicks}.{Seq}");

    public static ConversationCursor? Parse(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        var dot = text.IndexOf('.', StringComparison.Ordinal);
        return dot > 0
               && long.TryParse(text.AsSpan(0, dot), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var ticks)
               && long.TryParse(text.AsSpan(dot + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seq)
               && ticks <= DateTimeOffset.MaxValue.UtcTicks
            ? new ConversationCursor(new DateTimeOffset(ticks, TimeSpan.Zero), seq)
            : throw new ArgumentException($"'{text}' is not a conversation cursor (use the 'before' of the previous page).");
    }
}
