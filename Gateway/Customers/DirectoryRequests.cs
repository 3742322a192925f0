using System.Globalization;
using CustomerGrains.Gateway.Mediation;
using CustomerGrains.Gateway.Tenants;
using CustomerGrains.Grains;
using MediatR;
using Npgsql;

namespace CustomerGrains.Gateway.Customers;

/// <summary><c>GET /v1/customers</c>: the tenant's customers, most recently active first, optionally those whose name,
/// email, phone or external id contains <see cref="Query"/>.</summary>
public sealed record ListCustomers(Caller Caller, string? Query, int Limit, string? Cursor) : IRequest<CustomerListPage>, IValidatedRequest
{
    public const int MaxLimit = 100;

    public IEnumerable<(string Field, string Message)> Validate()
    {
        if (Limit is < 1 or > MaxLimit)
        {
            yield return ("limit", $"limit is 1 to {MaxLimit}.");
        }

        if (Query is { Length: > 200 })
        {
            yield return ("query", "query is at most 200 characters.");
        }

        if (Cursor is not null && DirectoryCursor.Parse(Cursor) is null)
        {
            yield return ("cursor", "Not a cursor this API gave: pass the previous page's cursor as it was.");
        }
    }
}

/// <summary>Where a page of the directory ends: the last customer's activity time and id.</summary>
internal sealed record DirectoryCursor(DateTimeOffset LastActiveAt, string CustomerId)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{LastActiveAt.UtcTicks}.{CustomerId}");

    public static DirectoryCursor? Parse(string text)
    {
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 && dot < text.Length - 1
               && long.TryParse(text.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
               && ticks <= DateTimeOffset.MaxValue.UtcTicks
            ? new DirectoryCursor(new DateTimeOffset(ticks, TimeSpan.Zero), text[(dot + 1)..])
            : null;
    }
}

/// <summary>Reads the directory table (Grains/Sql/009_customer_directory.sql) that customer grains keep with each
/// append: a search over every customer of a tenant is a query, not a call to each grain.</summary>
public sealed class ListCustomersHandler(NpgsqlDataSource database, CustomerResolver resolver) : IRequestHandler<ListCustomers, CustomerListPage>
{
    public async Task<CustomerListPage> Handle(ListCustomers request, CancellationToken cancellationToken)
    {
        var query = string.IsNullOrWhiteSpace(request.Query) ? null : request.Query.Trim().ToLowerInvariant();
        var exact = query is not null && query.Contains(':', StringComparison.Ordinal) ? ExactIdentity(request.Caller.TenantId, query) : query;
        var digits = query is null ? null : new string(query.Where(char.IsAsciiDigit).ToArray());
        var cursor = request.Cursor is null ? null : DirectoryCursor.Parse(request.Cursor);
        await using var command = database.CreateCommand(
            """
            SELECT c.customer_id, c.name, c.emails, c.phones, c.last_active_at,
                   (SELECT coalesce(array_agg(i.provider ORDER BY i.created_at), '{}') FROM customer_identities i WHERE i.tenant_id = $1 AND i.customer_id = c.customer_id),
                   (SELECT coalesce(array_agg(i.external_id ORDER BY i.created_at), '{}') FROM customer_identities i WHERE i.tenant_id = $1 AND i.customer_id = c.customer_id)
            FROM customers c
            WHERE c.tenant_id = $1
              AND ($2::text IS NULL
                   OR c.search LIKE '%' || $2 || '%'
                   OR ($3::text IS NOT NULL AND c.search LIKE '%' || $3 || '%')
                   OR c.customer_id = $6
                   OR EXISTS (SELECT 1 FROM customer_identities i
                              WHERE i.tenant_id = $1 AND i.customer_id = c.customer_id
                                AND (lower(i.external_id) LIKE '%' || $2 || '%' OR lower(i.provider || ':' || i.external_id) = $6)))
              AND ($4::timestamptz IS NULL OR (c.last_active_at, c.customer_id) < ($4, $5))
            ORDER BY c.last_active_at DESC, c.customer_id DESC
            LIMIT $7
            """);
        command.Parameters.AddWithValue(request.Caller.TenantId);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)(query is null ? null : EscapeLike(query)) ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = digits is { Length: >= 4 } && digits != query ? digits : DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)cursor?.LastActiveAt ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        command.Parameters.AddWithValue(cursor?.CustomerId ?? "");
        command.Parameters.AddWithValue(exact ?? "");
        command.Parameters.AddWithValue(request.Limit + 1);
        var items = new List<CustomerListing>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var providers = reader.GetFieldValue<string[]>(5);
                var externalIds = reader.GetFieldValue<string[]>(6);
                items.Add(new CustomerListing(
                    reader.GetString(0),
                    reader.IsDBNull(1) ? null : reader.GetString(1),
                    reader.GetFieldValue<string[]>(2),
                    reader.GetFieldValue<string[]>(3),
                    providers.Zip(externalIds, (p, e) => new ExternalIdentity(p, e)).ToList(),
                    reader.GetFieldValue<DateTimeOffset>(4)));
            }
        }

        return items.Count > request.Limit
            ? new CustomerListPage(items[..request.Limit], new DirectoryCursor(items[request.Limit - 1].LastActiveAt, items[request.Limit - 1].CustomerId).ToString())
            : new CustomerListPage(items, null);
    }

    /// <summary>The identity a query such as <c>chatwoot:42</c> names, as stored; the query as it is where it names
    /// none (or several: all of them then match by their external id).</summary>
    private string ExactIdentity(string tenantId, string query)
    {
        try
        {
            return resolver.Parse(tenantId, query).ToString().ToLowerInvariant();
        }
        catch (ArgumentException)
        {
            return query;
        }
    }

    private static string EscapeLike(string text) => text.Replace(@"\", @"\\", StringComparison.Ordinal).Replace("%", @"\%", StringComparison.Ordinal).Replace("_", @"\_", StringComparison.Ordinal);
}

/// <summary><c>GET /v1/customers/{id}/interactions</c>: a page of the conversation, newest first.</summary>
public sealed record GetConversation(Caller Caller, string CustomerId, string? Before, int Limit) : IRequest<ConversationPage>, IValidatedRequest
{
    public IEnumerable<(string Field, string Message)> Validate()
    {
        if (Limit is < 1 or > ConversationPage.MaxLimit)
        {
            yield return ("limit", $"limit is 1 to {ConversationPage.MaxLimit}.");
        }
    }
}

public sealed class GetConversationHandler(CustomerResolver customers) : IRequestHandler<GetConversation, ConversationPage>
{
    public Task<ConversationPage> Handle(GetConversation request, CancellationToken cancellationToken) =>
        SiloRetry.IdempotentAsync(async () => await (await customers.FindAsync(request.Caller, request.CustomerId)).GetConversationAsync(request.Before, request.Limit), cancellationToken);
}
