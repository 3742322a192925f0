using CustomerGrains.Benchmarks;

// ./bench.sh <suite>: each suite prints its figures, then one final "RESULT suite=..." line, and writes the
// same figures as JSON to bench-results/<suite>.json.
var suites = new Dictionary<string, Func<Task<BenchmarkResult>>>(StringComparer.OrdinalIgnoreCase)
{
    ["runtime"] = RuntimeBenchmark.RunAsync,
    ["ingest"] = IngestBenchmark.RunAsync,
    ["inference"] = InferenceBenchmark.RunAsync,
    ["suggestions"] = SuggestionsBenchmark.RunAsync,
    ["retrieval"] = RetrievalBenchmark.RunAsync,
};

if (args.Length != 1 || !suites.TryGetValue(args[0], out var suite))
{
    Console.Error.WriteLine($"usage: bench.sh <suite>   suites: {string.Join(", ", suites.Keys)}");
    return 2;
}

var result = await suite();
result.Write(Path.Combine(Environment.GetEnvironmentVariable("CUSTOMERGRAINS_BENCH_RESULTS") ?? "bench-results", $"{result.Suite}.json"));
Console.WriteLine(result.ResultLine);
return 0;
