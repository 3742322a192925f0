using CustomerGrains.Benchmarks;

// ./bench.sh <suite>: each suite prints its figures, then one final "RESULT suite=..." line, and writes the
// same figures as JSON to bench-results/<suite>.json.
var suites = new Dictionary<string, Func<Task<BenchmarkResult>>>(StringComparer.OrdinalIgnoreCase)
{
    ["runtime"] = RuntimeBenchmark.RunAsync,
    ["ingest"] = IngestBenchmark.RunAsync,
    ["inference"] = InferenceBenchmark.RunAsync,
    ["gpu"] = GpuBenchmark.RunAsync,
    ["suggestions"] = SuggestionsBenchmark.RunAsync,
    ["retrieval"] = RetrievalBenchmark.RunAsync,
    ["replies"] = RepliesBenchmark.RunAsync,
    ["drill"] = async () =>
    {
        // The scaling drill (tests/CustomerGrains.Testing/ScalingDrill.cs): 20 s per phase, on real silo processes.
        var drill = await CustomerGrains.Testing.ScalingDrill.RunAsync(new CustomerGrains.Testing.DrillOptions(TimeSpan.FromSeconds(20)), Console.Out);
        return new BenchmarkResult("drill")
            .Add("requests", drill.Sent).Add("failures", drill.Failures).Add("acknowledged", drill.Acknowledged)
            .Add("missing", drill.Missing).Add("duplicates", drill.Duplicates).Add("drain_exit", drill.DrainExitCode)
            .Add("silos_with_customers_before", drill.ActivationsBefore.Count(a => a.Value > 0))
            .Add("silos_with_customers_after", drill.ActivationsAfter.Count(a => a.Value > 0));
    },
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
