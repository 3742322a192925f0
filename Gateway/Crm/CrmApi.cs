using System.Net.Http.Json;
using System.Text.Json;
using CustomerGrains.Gateway.Tenants;

namespace CustomerGrains.Gateway.Crm;

/// <summary>A request the CRM did not take. <see cref="RetryAfter"/>: null when trying again cannot help (the CRM refused
/// the request itself), zero to try again after the caller's back-off, more when the CRM said how long to wait.
/// <see cref="Status"/>: the CRM's HTTP status; null when it did not answer.</summary>
public sealed class CrmApiException(string message, TimeSpan? retryAfter, int? status = null) : Exception(message)
{
    public TimeSpan? RetryAfter { get; } = retryAfter;

    public int? Status { get; } = status;
}

/// <summary>What the vendors' APIs share, for sending replies and reading history: a JSON request, and a refusal read as
/// permanent or to retry (429 with the vendor's Retry-After or X-RateLimit-Reset, 408 and 5xx).</summary>
internal static class CrmApi
{
    public static async Task<JsonElement> SendAsync(HttpClient http, HttpRequestMessage request, string vendor, TimeProvider time, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new CrmApiException($"{vendor} did not answer: {ex.Message}", TimeSpan.Zero);
        }

        using (response)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                if (body.Length == 0)
                {
                    return default;
                }

                try
                {
                    using var document = JsonDocument.Parse(body);
                    return document.RootElement.Clone();
                }
                catch (JsonException)
                {
                    // A proxy's login page or a wrong ApiBaseUrl: asking again gets the same page.
                    throw new CrmApiException(
                        $"{vendor} answered {(int)response.StatusCode} with a body that is not JSON (is ApiBaseUrl the API's address?): {(body.Length <= 200 ? body : body[..200])}",
                        null, (int)response.StatusCode);
                }
            }

            var retryAfter = (int)response.StatusCode switch
            {
                // Retry-After in seconds or as a date (Zendesk, HubSpot), else Intercom's X-RateLimit-Reset (Unix seconds).
                429 => response.Headers.RetryAfter?.Delta
                       ?? (response.Headers.RetryAfter?.Date is { } date ? (TimeSpan?)(date - time.GetUtcNow()) : null)
                       ?? (response.Headers.TryGetValues("X-RateLimit-Reset", out var reset) && long.TryParse(reset.First(), out var unix)
                           ? DateTimeOffset.FromUnixTimeSeconds(unix) - time.GetUtcNow()
                           : TimeSpan.FromSeconds(10)),
                408 or >= 500 => TimeSpan.Zero,
                _ => (TimeSpan?)null,
            };
            throw new CrmApiException(
                $"{vendor} answered {(int)response.StatusCode} {response.ReasonPhrase}: {(body.Length <= 300 ? body : body[..300])}",
                retryAfter is { } wait && wait < TimeSpan.Zero ? TimeSpan.Zero : retryAfter,
                (int)response.StatusCode);
        }
    }

    public static string Option(this Connection connection, string name, string? fallback = null) =>
        connection.Options.TryGetValue(name, out var value) && !string.IsNullOrWhiteSpace(value) ? value.TrimEnd('/') : fallback ?? "";

    public static IReadOnlyList<string> MissingOf(Connection connection, params string[] names) =>
        [.. names.Where(name => connection.Option(name).Length == 0).Select(name => $"Options:{name}")];

    public static JsonContent Json(object body) => JsonContent.Create(body);

    public static string Id(JsonElement element) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty("id", out var id)
            ? id.ValueKind == JsonValueKind.Number ? id.GetRawText() : id.GetString() ?? ""
            : "";
}
