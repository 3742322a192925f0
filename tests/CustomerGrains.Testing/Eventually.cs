namespace CustomerGrains.Testing;

/// <summary>Waits for a condition by polling it until a deadline, instead of sleeping for a guessed time.</summary>
public static class Eventually
{
    public static async Task<bool> TrueAsync(Func<Task<bool>> condition, TimeSpan within, TimeSpan? every = null)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            if (await condition())
            {
                return true;
            }

            if (DateTime.UtcNow >= deadline)
            {
                return false;
            }

            await Task.Delay(every ?? TimeSpan.FromMilliseconds(50));
        }
    }

    public static Task<bool> TrueAsync(Func<bool> condition, TimeSpan within) => TrueAsync(() => Task.FromResult(condition()), within);
}
