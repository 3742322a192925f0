using Orleans.Runtime;

namespace CustomerGrains.Gateway;

/// <summary>Retries an idempotent grain call that failed because the silo holding the grain left or died.</summary>
/// <remarks>While a silo shuts down (or before a dead one is declared so), calls already on their way to its grains
/// fail with <see cref="SiloUnavailableException"/>, or are rejected by it (<see cref="OrleansMessageRejectionException"/>,
/// "Silo stopping"); a moment later the cluster activates those grains on a silo that is still there. Only calls that
/// can safely run twice go through here (reads, and an append, which is stored once per event id), so the client gets
/// its answer instead of a 503 it would have to retry itself.</remarks>
internal static class SiloRetry
{
    private static readonly TimeSpan[] Delays = [TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(2)];

    public static async Task<T> IdempotentAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (Exception ex) when (ex is SiloUnavailableException or OrleansMessageRejectionException && attempt < Delays.Length)
            {
                await Task.Delay(Delays[attempt], cancellationToken);
            }
        }
    }
}
