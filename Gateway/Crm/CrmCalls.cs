using System.Text.Json;
using System.Threading.RateLimiting;

namespace CustomerGrains.Gateway.Crm;

/// <summary>
/// One history run's reads from one CRM: paced to the connection's request rate (a token bucket, refilled every
/// second), and retried as the CRM asks: after its Retry-After (or rate-limit reset) on 429, after a growing back-off
/// on 5xx, timeouts and refused connections, up to <paramref name="maxAttempts"/> tries. A refusal that another try
/// cannot change (401, 403, 404) ends the run at once with the CRM's answer.
/// </summary>
public sealed class CrmCalls(string vendor, int requestsPerMinute, int maxAttempts, TimeProvider time) : IDisposable
{
    private readonly TokenBucketRateLimiter _pace = new(new TokenBucketRateLimiterOptions
    {
        TokenLimit = Math.Max(1, requestsPerMinute / 60),
        TokensPerPeriod = Math.Max(1, requestsPerMinute / 60),
        ReplenishmentPeriod = TimeSpan.FromSeconds(Math.Max(1, 60.0 / requestsPerMinute)),
        QueueLimit = int.MaxValue,
        QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
    });

    private long _requests;

    /// <summary>Requests sent, retries included.</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>Times the CRM said to slow down (429).</summary>
    public int Throttled { get; private set; }

    public async Task<JsonElement> GetAsync(HttpClient http, string url, Action<HttpRequestMessage> authorize, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            using (var lease = await _pace.AcquireAsync(1, cancellationToken))
            {
                // The queue is unbounded: a lease is always granted, possibly after waiting for the bucket.
            }

            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            authorize(request);
            Interlocked.Increment(ref _requests);
            try
            {
                return await CrmApi.SendAsync(http, request, vendor, time, cancellationToken);
            }
            catch (CrmApiException ex) when (ex.RetryAfter is { } wait && attempt < maxAttempts)
            {
                Throttled += ex.Status == 429 ? 1 : 0;
                await Task.Delay(wait > TimeSpan.Zero ? wait : TimeSpan.FromSeconds(Math.Min(60, Math.Pow(2, attempt - 1))), time, cancellationToken);
            }
        }
    }

    public void Dispose() => _pace.Dispose();
}
