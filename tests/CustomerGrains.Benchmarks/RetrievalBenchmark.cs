using System.Text.Json;
using CustomerGrains.Grains;
using CustomerGrains.Testing;
using Npgsql;

namespace CustomerGrains.Benchmarks;

/// <summary>
/// Retrieval quality on a set the project was not tuned on (tests/fixtures/kb-eval: 40 entries of a telecom's support
/// in English, Russian and Ukrainian, 151 questions: paraphrases, typos, word forms, keywords, questions in another
/// language than their entry, and questions nothing answers), for the project's knowledge base and for the peer a user
/// would set up instead: PostgreSQL's full-text search (the english, russian and simple configurations, ts_rank) with
/// pg_trgm similarity. hit@1: the right entry answered outright; top@1: ranked first, confident or not; hit@5: among
/// what the asker sees (the project: the ask's answer and its three related entries, or its five similar ones; the
/// peer: its first five); refused: an unanswerable question gets no confident answer. Each system's confidence
/// threshold is calibrated here as the lowest that refuses at least 90% of the unanswerable questions.
/// </summary>
public static class RetrievalBenchmark
{
    private sealed record Entry(string Key, string Question, string Answer, string Language);

    private sealed record Query(string Kind, string? Expect, [property: System.Text.Json.Serialization.JsonPropertyName("query")] string Text);

    /// <summary>A system's ranking of the entries for one query, and the entries its asker sees.</summary>
    private sealed record Ranked(IReadOnlyList<(string Key, double Score)> Top, IReadOnlyList<string> Seen);

    public static async Task<BenchmarkResult> RunAsync()
    {
        var web = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        var entries = JsonSerializer.Deserialize<List<Entry>>(File.ReadAllText(Fixtures.Path("kb-eval", "entries.json")), web)!;
        var queries = JsonSerializer.Deserialize<List<Query>>(File.ReadAllText(Fixtures.Path("kb-eval", "queries.json")), web)!;
        await using var hubSpot = await FakeHubSpot.StartAsync();
        await using var cluster = await TestCluster.StartAsync(1, GatewayTestOptions.Create(hubSpot.BaseUrl));
        var kb = cluster.Silos[0].GrainFactory.GetGrain<IKnowledgeBaseGrain>("eval");
        await kb.ImportAsync(entries.Select(e => new KbEntryInput(e.Question, e.Answer, null, e.Language)).ToList(), "eval");
        var keyOf = (await kb.ExportAsync()).ToDictionary(e => e.EntryId, e => entries.Single(x => x.Question == e.Question).Key);

        var project = new List<Ranked>();
        foreach (var query in queries)
        {
            var hits = await kb.SearchAsync(query.Text, 5);
            var asked = await kb.AskAsync(query.Text, "eval");
            var seen = (asked.Match is null ? asked.Similar : [asked.Match, .. asked.Related]).Select(m => keyOf[m.EntryId]).ToList();
            project.Add(new Ranked(hits.Select(h => (keyOf[h.EntryId], h.Score)).ToList(), seen));
        }

        await using var database = NpgsqlDataSource.Create(cluster.Database.ConnectionString);
        var peer = new List<Ranked>();
        foreach (var query in queries)
        {
            peer.Add(await PeerAsync(database, query.Text, keyOf));
        }

        var result = new BenchmarkResult("retrieval").Add("entries", entries.Count).Add("queries", queries.Count);
        Report("project", queries, project, result);
        Report("peer", queries, peer, result);

        // Throughput of one tenant's knowledge base: 16 agents asking at once, through the grain.
        var asks = await Throughput.MeasureAsync("asks of one tenant", 16, n => kb.AskAsync(queries[n % queries.Count].Text, $"agent-{n % 16}"),
            TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(6));
        return result.Add("asks_per_s", asks);
    }

    /// <summary>What a user would build with PostgreSQL alone: ts_rank over the question and answer in each of the
    /// three configurations, and trigram similarity to the question, the best of them.</summary>
    private static async Task<Ranked> PeerAsync(NpgsqlDataSource database, string text, Dictionary<string, string> keyOf)
    {
        await using var command = database.CreateCommand(
            """
            SELECT entry_id, greatest(
                ts_rank(to_tsvector('english', question || ' ' || answer), plainto_tsquery('english', $1)),
                ts_rank(to_tsvector('russian', question || ' ' || answer), plainto_tsquery('russian', $1)),
                ts_rank(to_tsvector('simple', question || ' ' || answer), plainto_tsquery('simple', $1)),
                similarity(lower(question), lower($1))) AS score
            FROM kb_entries WHERE tenant_id = 'eval'
            ORDER BY score DESC, entry_id LIMIT 5
            """);
        command.Parameters.AddWithValue(text);
        var top = new List<(string, double)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            if (reader.GetFloat(1) > 0)
            {
                top.Add((keyOf[reader.GetString(0)], reader.GetFloat(1)));
            }
        }

        return new Ranked(top, top.Select(t => t.Item1).ToList());
    }

    private static void Report(string system, List<Query> queries, List<Ranked> ranked, BenchmarkResult result)
    {
        // The lowest threshold refusing at least 90% of the unanswerable questions.
        var unanswerable = queries.Select((q, i) => (q, i)).Where(x => x.q.Expect is null).Select(x => ranked[x.i].Top.FirstOrDefault().Score).Order().ToList();
        var threshold = unanswerable.Count == 0 ? 0 : unanswerable[(int)Math.Ceiling(0.9 * unanswerable.Count) - 1] + 1e-6;

        double HitAt1(int i) => ranked[i].Top.Count > 0 && ranked[i].Top[0].Key == queries[i].Expect && ranked[i].Top[0].Score >= threshold ? 1 : 0;
        double TopAt1(int i) => ranked[i].Top.Count > 0 && ranked[i].Top[0].Key == queries[i].Expect ? 1 : 0;
        double HitAt5(int i) => ranked[i].Seen.Contains(queries[i].Expect!) ? 1 : 0;
        double Refused(int i) => ranked[i].Top.Count == 0 || ranked[i].Top[0].Score < threshold ? 1 : 0;

        var answerable = queries.Select((q, i) => (q, i)).Where(x => x.q.Expect is not null).ToList();
        var refusals = queries.Select((q, i) => (q, i)).Where(x => x.q.Expect is null).ToList();
        Console.WriteLine($"{system}: confidence threshold {threshold:0.000}");
        foreach (var kind in answerable.Select(x => x.q.Kind).Distinct())
        {
            var of = answerable.Where(x => x.q.Kind == kind).Select(x => x.i).ToList();
            Console.WriteLine($"  {kind,-12} n={of.Count,3}  hit@1 {of.Average(HitAt1):0.00}  top@1 {of.Average(TopAt1):0.00}  hit@5 {of.Average(HitAt5):0.00}");
        }

        var all = answerable.Select(x => x.i).ToList();
        var refused = refusals.Select(x => x.i).Average(Refused);
        Console.WriteLine($"  {"all",-12} n={all.Count,3}  hit@1 {all.Average(HitAt1):0.00}  top@1 {all.Average(TopAt1):0.00}  hit@5 {all.Average(HitAt5):0.00}  refused {refused:0.00} of {refusals.Count}");
        result.Add($"{system}_hit1", all.Average(HitAt1))
            .Add($"{system}_top1", all.Average(TopAt1))
            .Add($"{system}_hit5", all.Average(HitAt5))
            .Add($"{system}_refused", refused)
            .Add($"{system}_threshold", threshold);
    }
}
