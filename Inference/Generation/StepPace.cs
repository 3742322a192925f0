namespace CustomerGrains.Inference.Generation;

/// <summary>
/// How long a decode step takes now: the median of the last <see cref="Window"/> steps. A median, not a moving
/// average, because one step stalled by a pause (a garbage collection, a burst on a shared core) must not move it:
/// an average weighted 0.1 took one 350 ms stall among 3 ms steps to 37 ms, and the pool refused every request that
/// then could not finish "at that pace" until steps ran again. Only a majority of slow steps moves the median.
/// </summary>
internal sealed class StepPace
{
    public const int Window = 16;
    private readonly double[] _recent = new double[Window];
    private int _count;
    private int _next;

    /// <summary>Seconds per step; 0 until a step was measured.</summary>
    public double Seconds { get; private set; }

    public void Add(double seconds)
    {
        _recent[_next] = seconds;
        _next = (_next + 1) % Window;
        _count = Math.Min(_count + 1, Window);
        Span<double> sorted = stackalloc double[_count];
        _recent.AsSpan(0, _count).CopyTo(sorted);
        sorted.Sort();
        Seconds = _count % 2 == 1 ? sorted[_count / 2] : (sorted[(_count / 2) - 1] + sorted[_count / 2]) / 2;
    }
}
