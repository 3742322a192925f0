namespace CustomerGrains.Gateway;

/// <summary>Wakes a polling loop early: many wake-ups before it next looks count as one, and the loop waits for a
/// wake-up or its poll interval, whichever comes first.</summary>
internal sealed class Wakeup
{
    private readonly SemaphoreSlim _signal = new(0, 1);

    public void Set()
    {
        try
        {
            _signal.Release();
        }
        catch (SemaphoreFullException)
        {
            // woken already
        }
    }

    public Task WaitAsync(TimeSpan poll, CancellationToken cancellationToken) => _signal.WaitAsync(poll, cancellationToken);
}
