using System.Diagnostics;

namespace CustomerGrains.Benchmarks;

/// <summary>Operations per second of an operation run by concurrent callers, counted over a window after a warm-up.</summary>
public static class Throughput
{
    private static readonly TimeSpan LongestWarmup = TimeSpan.FromSeconds(60);
    /// <param name="operation">One operation; its argument is a number unique across all callers.</param>
    /// <param name="windowOpens">Called as the window opens (the warm-up is over), e.g. to count what is done so far.</param>
    public static async Task<double> MeasureAsync(string name, int callers, Func<int, Task> operation, TimeSpan warmup, TimeSpan window, Func<Task>? windowOpens = null)
    {
        var sequence = 0;
        long count = 0;
        var measuring = false;
        using var stop = new CancellationTokenSource();
        var tasks = Enumerable.Range(0, callers).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await operation(Interlocked.Increment(ref sequence));
                if (Volatile.Read(ref measuring))
                {
                    Interlocked.Increment(ref count);
                }
            }
        })).ToArray();

        // Warm until the JIT is done too: on two cores, tiered compilation (tier 0, instrumented, then optimised code)
        // of a whole silo's hot paths takes longer than a fixed warm-up, and a window that opened earlier measured the
        // unoptimised code (and the compiler's own time) instead of the steady state. Settled: under 5 methods
        // compiled in a second.
        var warming = Stopwatch.StartNew();
        await Task.Delay(warmup);
        for (var compiled = System.Runtime.JitInfo.GetCompiledMethodCount(); warming.Elapsed < LongestWarmup;)
        {
            await Task.Delay(TimeSpan.FromSeconds(1));
            var now = System.Runtime.JitInfo.GetCompiledMethodCount();
            if (now - compiled < 5)
            {
                break;
            }

            compiled = now;
        }

        var warmedFor = warming.Elapsed;
        if (windowOpens is not null)
        {
            await windowOpens();
        }

        var gcBefore = GC.CollectionCount(0);
        var allocatedBefore = GC.GetTotalAllocatedBytes();
        Volatile.Write(ref measuring, true);
        var watch = Stopwatch.StartNew();
        await Task.Delay(window);
        var measured = Interlocked.Read(ref count);
        watch.Stop();
        Volatile.Write(ref measuring, false);
        var allocated = GC.GetTotalAllocatedBytes() - allocatedBefore;
        await stop.CancelAsync();
        await Task.WhenAll(tasks);

        var rate = measured / watch.Elapsed.TotalSeconds;
        Console.WriteLine($"{name,-24} {rate,12:N0} per s   {allocated / Math.Max(1, measured),7:N0} B allocated per op   {GC.CollectionCount(0) - gcBefore} gen0 GCs   (after {warmedFor.TotalSeconds:N0} s warm-up)");
        return rate;
    }
}
