using Npgsql;

namespace CustomerGrains.Grains;

/// <summary>
/// Identity resolution in SQL. A stateless worker: every silo resolves locally, and PostgreSQL's primary key on
/// (tenant, provider, external id) makes concurrent first sightings of one identity agree on one customer.
/// </summary>
[StatelessWorker]
public sealed class CustomerDirectoryGrain(NpgsqlDataSource database) : Grain, ICustomerDirectoryGrain
{
    private string TenantId => this.GetPrimaryKeyString();

    public async Task<string> ResolveOrCreateAsync(IReadOnlyList<ExternalIdentity> identities)
    {
        if (identities.Count == 0)
        {
            throw new ArgumentException("An event must name at least one identity of its customer.");
        }

        var normalized = identities.Select(Normalize).Distinct().ToList();
        var owners = await OwnersAsync(normalized);
        var known = owners.FirstOrDefault(o => o is not null);
        if (known is not null && owners.All(o => o == known))
        {
            return known; // every identity is linked already: one query, the common case
        }

        // Claim the identities nobody has for the known customer (or a new one); a racer that claimed first
        // wins, and everything is re-read so that both end on the same customer.
        var customerId = known ?? "cus_" + Guid.NewGuid().ToString("N")[..20];
        await using var batch = database.CreateBatch();
        foreach (var identity in normalized.Where((_, i) => owners[i] is null))
        {
            var insert = new NpgsqlBatchCommand(
                "INSERT INTO customer_identities (tenant_id, provider, external_id, customer_id) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING");
            insert.Parameters.AddWithValue(TenantId);
            insert.Parameters.AddWithValue(identity.Provider);
            insert.Parameters.AddWithValue(identity.ExternalId);
            insert.Parameters.AddWithValue(customerId);
            batch.BatchCommands.Add(insert);
        }

        await batch.ExecuteNonQueryAsync();
        return known ?? (await OwnersAsync(normalized)).First(o => o is not null)!;
    }

    public async Task<string[]> ResolveManyAsync(IReadOnlyList<IReadOnlyList<ExternalIdentity>> customers)
    {
        // Every identity of every event in one query; only events naming an identity nobody has yet (new customers,
        // new links) take the path that creates.
        var normalized = customers.Select(identities => identities.Select(Normalize).Distinct().ToList()).ToList();
        var all = normalized.SelectMany(identities => identities).Distinct().ToList();
        var owners = all.Zip(await OwnersAsync(all)).ToDictionary(pair => pair.First, pair => pair.Second);
        var resolved = new string[customers.Count];
        for (var i = 0; i < customers.Count; i++)
        {
            var known = normalized[i].Select(identity => owners[identity]).Distinct().ToList();
            resolved[i] = known is [{ } customer] ? customer : await ResolveOrCreateAsync(customers[i]);
            foreach (var identity in normalized[i])
            {
                owners[identity] = resolved[i]; // a later event of the same new customer in this batch finds it
            }
        }

        return resolved;
    }

    public async Task<string?> FindAsync(ExternalIdentity identity)
    {
        if (identity.Provider == "id")
        {
            await using var own = database.CreateCommand("SELECT customer_id FROM customer_identities WHERE tenant_id = $1 AND customer_id = $2 LIMIT 1");
            own.Parameters.AddWithValue(TenantId);
            own.Parameters.AddWithValue(identity.ExternalId);
            return await own.ExecuteScalarAsync() as string;
        }

        return (await OwnersAsync([Normalize(identity)]))[0];
    }

    /// <summary>The customer each identity belongs to (null where none), in the order given.</summary>
    private async Task<string?[]> OwnersAsync(IReadOnlyList<ExternalIdentity> identities)
    {
        await using var command = database.CreateCommand(
            """
            SELECT i.customer_id FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS wanted(provider, external_id, rank)
            LEFT JOIN customer_identities i ON i.tenant_id = $1 AND i.provider = wanted.provider AND i.external_id = wanted.external_id
            ORDER BY wanted.rank
            """);
        command.Parameters.AddWithValue(TenantId);
        command.Parameters.AddWithValue(identities.Select(i => i.Provider).ToArray());
        command.Parameters.AddWithValue(identities.Select(i => i.ExternalId).ToArray());
        var owners = new string?[identities.Count];
        await using var reader = await command.ExecuteReaderAsync();
        for (var i = 0; await reader.ReadAsync(); i++)
        {
            owners[i] = reader.IsDBNull(0) ? null : reader.GetString(0);
        }

        return owners;
    }

    /// <summary>Emails match case-insensitively; providers are lower case.</summary>
    public static ExternalIdentity Normalize(ExternalIdentity identity)
    {
        var provider = identity.Provider.Trim().ToLowerInvariant();
        var externalId = identity.ExternalId.Trim();
        return new ExternalIdentity(provider, provider == "email" ? externalId.ToLowerInvariant() : externalId);
    }
}
