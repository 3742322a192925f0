using System.Diagnostics;

namespace CustomerGrains.Benchmarks;

/// <summary>Operations per second of an operation run by concurrent callers, counted over a window after a warm-up.</summary>
public static class Throughput
{
    /// <param name="operation">One operation; its argument is a number unique across all callers.</param>
    public static async Task<double> MeasureAsync(string name, int callers, Func<int, Task> operation, TimeSpan warmup, TimeSpan window)
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

        await Task.Delay(warmup);
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
        Console.WriteLine($"{name,-24} {rate,12:N0} per s   {allocated / Math.Max(1, measured),7:N0} B allocated per op   {GC.CollectionCount(0) - gcBefore} gen0 GCs");
        return rate;
    }
}
