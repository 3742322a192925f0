using CustomerGrains.Gateway.Mediation;
using CustomerGrains.Gateway.Tenants;
using MediatR;
using Npgsql;

namespace CustomerGrains.Gateway.Replies;

/// <summary>How one agent (or all of a tenant's, <c>agent: null</c>) replied over a period.</summary>
/// <param name="Agent">The API key that sent through CustomerGrains (<c>key:...</c>), or the author the CRM named for a
/// reply typed in the CRM itself.</param>
/// <param name="AsSuggested">Sent from a suggestion as it was.</param>
/// <param name="Edited">Sent from a suggestion after editing it.</param>
/// <param name="Written">Written without a suggestion: in the console's composer, or in the CRM itself.</param>
/// <param name="MeanEditDistance">Over the edited ones: words changed (Levenshtein over words) per word of the longer
/// of the suggestion and the reply sent; 0 is untouched, 1 rewritten.</param>
public sealed record SuggestionUsage(
    string? Agent, int Replies, int AsSuggested, int Edited, int Written, double ShareAsSuggested, double ShareEdited, double ShareWritten, double? MeanEditDistance);

public sealed record SuggestionReport(DateTimeOffset From, DateTimeOffset To, SuggestionUsage Tenant, IReadOnlyList<SuggestionUsage> Agents);

/// <summary><c>GET /v1/reports/suggestions?from=&amp;to=</c>: how agents use suggestions, measured on what was sent.</summary>
public sealed record GetSuggestionReport(Caller Caller, DateTimeOffset? From, DateTimeOffset? To, DateTimeOffset Now) : IRequest<SuggestionReport>, IValidatedRequest
{
    public DateTimeOffset Start => From ?? End.AddDays(-30);

    public DateTimeOffset End => To ?? Now;

    public IEnumerable<(string Field, string Message)> Validate()
    {
        if (Start >= End)
        {
            yield return ("from", "'from' must be before 'to'.");
        }
        else if (End - Start > TimeSpan.FromDays(366))
        {
            yield return ("to", "A report covers at most 366 days.");
        }
    }
}

/// <summary>
/// Counts every public reply agents sent in the period: those sent through CustomerGrains (the reply outbox, with the
/// suggestion each came from, if any) and those typed in the CRM, which arrive as outbound webhooks and are not echoes
/// of a reply sent here. Bots' messages are not agents' replies.
/// </summary>
public sealed class GetSuggestionReportHandler(NpgsqlDataSource database) : IRequestHandler<GetSuggestionReport, SuggestionReport>
{
    public async Task<SuggestionReport> Handle(GetSuggestionReport request, CancellationToken cancellationToken)
    {
        var replies = new List<(string Agent, string? Suggested, string Sent)>();
        await using (var sent = database.CreateCommand(
            """
            SELECT r.sent_by, a.text, r.body FROM reply_outbox r
            LEFT JOIN suggestion_audit a ON a.tenant_id = r.tenant_id AND a.suggestion_id = r.suggestion_id
            WHERE r.tenant_id = $1 AND r.status = 'sent' AND NOT r.private AND r.sent_at >= $2 AND r.sent_at < $3
            """))
        {
            sent.Parameters.AddWithValue(request.Caller.TenantId);
            sent.Parameters.AddWithValue(request.Start);
            sent.Parameters.AddWithValue(request.End);
            await using var reader = await sent.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                replies.Add((reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetString(2)));
            }
        }

        await using (var typed = database.CreateCommand(
            """
            SELECT coalesce(i.author, '(agent not named)') FROM customer_interactions i
            WHERE i.tenant_id = $1 AND i.direction = 'Outbound' AND NOT i.from_bot AND i.occurred_at >= $2 AND i.occurred_at < $3
              AND NOT EXISTS (SELECT 1 FROM reply_outbox r
                              WHERE r.tenant_id = i.tenant_id AND r.provider || ':' || r.connection_id = i.source AND r.message_id = i.event_id)
            """))
        {
            typed.Parameters.AddWithValue(request.Caller.TenantId);
            typed.Parameters.AddWithValue(request.Start);
            typed.Parameters.AddWithValue(request.End);
            await using var reader = await typed.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                replies.Add((reader.GetString(0), null, ""));
            }
        }

        return new SuggestionReport(request.Start, request.End, Usage(null, replies), [.. replies.GroupBy(r => r.Agent).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => Usage(g.Key, [.. g]))]);
    }

    private static SuggestionUsage Usage(string? agent, IReadOnlyList<(string Agent, string? Suggested, string Sent)> replies)
    {
        var edits = replies.Where(r => r.Suggested is not null && r.Suggested != r.Sent).Select(r => EditDistance(r.Suggested!, r.Sent)).ToList();
        var asSuggested = replies.Count(r => r.Suggested is not null && r.Suggested == r.Sent);
        var written = replies.Count(r => r.Suggested is null);
        double Share(int count) => replies.Count == 0 ? 0 : Math.Round((double)count / replies.Count, 4);
        return new SuggestionUsage(agent, replies.Count, asSuggested, edits.Count, written, Share(asSuggested), Share(edits.Count), Share(written),
            edits.Count == 0 ? null : Math.Round(edits.Average(), 4));
    }

    /// <summary>Levenshtein distance over words, per word of the longer text: what share of the reply the agent changed.</summary>
    internal static double EditDistance(string suggested, string sent)
    {
        var a = suggested.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        var b = sent.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (a.Length == 0 || b.Length == 0)
        {
            return a.Length == b.Length ? 0 : 1;
        }

        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (string.Equals(a[i - 1], b[j - 1], StringComparison.Ordinal) ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j] + 1, current[j - 1] + 1));
            }

            (previous, current) = (current, previous);
        }

        return (double)previous[b.Length] / Math.Max(a.Length, b.Length);
    }
}
