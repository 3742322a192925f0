using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CustomerGrains.Gateway.Tenants;
using CustomerGrains.Grains;
using Microsoft.AspNetCore.Http;

namespace CustomerGrains.Gateway.Webhooks;

/// <summary>What a delivery carries, as the gateway stores it in the inbox until it reaches the customer grain.</summary>
/// <param name="Interaction">Null for HubSpot, whose webhooks carry no text: <paramref name="HubSpot"/> says what to fetch.</param>
public sealed record InboxPayload(
    IReadOnlyList<ExternalIdentity> Identities,
    CustomerFacts Facts,
    Interaction? Interaction,
    HubSpotMessageRef? HubSpot = null);

/// <summary>A HubSpot conversation message to fetch during delivery.</summary>
public sealed record HubSpotMessageRef(string ThreadId, string MessageId, DateTimeOffset OccurredAt);

/// <summary>One event of a delivery: its dedupe key (unique per tenant), the identity it is ordered by, and its payload.</summary>
public sealed record InboxEvent(string DedupeKey, string IdentityKey, InboxPayload Payload);

/// <summary>A delivery whose body cannot be mapped; answered 400 with the reason, and nothing is stored.</summary>
public sealed class WebhookPayloadException(string message) : Exception(message);

/// <summary>Why a delivery was not verified: for the operator's log only (the CRM is answered alike whatever the
/// reason); <paramref name="Stale"/> when its signed time is out of range, which is counted apart.</summary>
public sealed record WebhookRejection(string Reason, bool Stale = false)
{
    /// <summary>A reason given as text: a signature that does not verify. Null stays null (verified).</summary>
    public static implicit operator WebhookRejection?(string? reason) => reason is null ? null : new WebhookRejection(reason);
}

/// <summary>What a provider needs from the request to verify it.</summary>
public sealed record WebhookRequest(IHeaderDictionary Headers, byte[] Body, string Method, Uri Url, DateTimeOffset Now);

/// <summary>One CRM's webhook format: how it signs, and how its payload maps to customer interactions.</summary>
public interface IWebhookProvider
{
    string Name { get; }

    /// <summary>Null when the signature (and timestamp, where the vendor signs one) is valid; otherwise why not.</summary>
    WebhookRejection? Verify(WebhookRequest request, Connection connection);

    /// <summary>The customer-facing messages in the body (private notes and our own replies are left out).</summary>
    IReadOnlyList<InboxEvent> Map(WebhookRequest request, Connection connection);
}

/// <summary>Shared pieces of signature checking and payload reading.</summary>
internal static class Webhook
{
    /// <summary>Signed timestamps older (or newer) than this are rejected: a captured delivery cannot be replayed later.</summary>
    public static readonly TimeSpan Tolerance = TimeSpan.FromMinutes(5);

    public static byte[] HmacSha256(string secret, params ReadOnlySpan<byte[]> parts) => Hmac(new HMACSHA256(Encoding.UTF8.GetBytes(secret)), parts);

    public static byte[] HmacSha256(byte[] secret, params ReadOnlySpan<byte[]> parts) => Hmac(new HMACSHA256(secret), parts);

    public static byte[] HmacSha1(string secret, byte[] body) => Hmac(new HMACSHA1(Encoding.UTF8.GetBytes(secret)), [body]);

    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>Constant-time comparison of a presented signature with the expected bytes.</summary>
    public static bool SignatureMatches(byte[] expected, byte[]? presented) =>
        presented is not null && CryptographicOperations.FixedTimeEquals(expected, presented);

    public static byte[]? FromHex(string? hex)
    {
        try
        {
            return hex is null ? null : Convert.FromHexString(hex);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    public static byte[]? FromBase64(string? base64)
    {
        try
        {
            return base64 is null ? null : Convert.FromBase64String(base64);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    public static WebhookRejection? StaleReason(DateTimeOffset signedAt, DateTimeOffset now, TimeSpan? tolerance = null) =>
        (now - signedAt).Duration() > (tolerance ?? Tolerance)
            ? new WebhookRejection($"The signed time {signedAt:O} is more than {(tolerance ?? Tolerance).TotalMinutes} minutes from now.", Stale: true)
            : null;

    public static JsonDocument Parse(byte[] body)
    {
        try
        {
            return JsonDocument.Parse(body);
        }
        catch (JsonException ex)
        {
            throw new WebhookPayloadException($"The body is not valid JSON: {ex.Message}");
        }
    }

    public static string? String(this JsonElement element, string property) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(property, out var value)
            ? value.ValueKind switch
            {
                JsonValueKind.String => StorableText.Of(StringOf(value, property)),
                JsonValueKind.Number => value.GetRawText(),
                JsonValueKind.True => "true",
                JsonValueKind.False => "false",
                _ => null,
            }
            : null;

    private static string? StringOf(JsonElement value, string property)
    {
        try
        {
            return value.GetString();
        }
        catch (InvalidOperationException ex) // a lone surrogate escape ("\ud800"): not text in any encoding
        {
            throw new WebhookPayloadException($"'{property}' is not valid text: {ex.Message}");
        }
    }

    public static JsonElement Object(this JsonElement element, string property) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.Object
            ? value
            : default;

    /// <summary>The items of an array property; none when it is missing or not an array.</summary>
    public static IEnumerable<JsonElement> Items(this JsonElement element, string property) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.Array
            ? value.EnumerateArray()
            : [];

    public static bool Bool(this JsonElement element, string property) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.True;

    public static string Required(this JsonElement element, string property, string what) =>
        element.String(property) is { Length: > 0 } value ? value : throw new WebhookPayloadException($"{what} has no '{property}'.");

    /// <summary>An ISO-8601 string or Unix seconds (or milliseconds, when <paramref name="milliseconds"/>).</summary>
    public static DateTimeOffset Time(this JsonElement element, string property, DateTimeOffset fallback, bool milliseconds = false)
    {
        var raw = element.String(property);
        if (raw is null)
        {
            return fallback;
        }

        if (long.TryParse(raw, out var number))
        {
            return milliseconds ? DateTimeOffset.FromUnixTimeMilliseconds(number) : DateTimeOffset.FromUnixTimeSeconds(number);
        }

        return DateTimeOffset.TryParse(raw, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var parsed)
            ? parsed
            : throw new WebhookPayloadException($"'{property}' is not a time: {raw}.");
    }

    /// <summary>Plain text from a CRM's HTML message body: tags dropped, entities decoded, whitespace collapsed.</summary>
    public static string TextOf(string? html)
    {
        if (string.IsNullOrEmpty(html))
        {
            return "";
        }

        var text = System.Text.RegularExpressions.Regex.Replace(html, "<br\\s*/?>|</p>", "\n", System.Text.RegularExpressions.RegexOptions.IgnoreCase);
        text = System.Text.RegularExpressions.Regex.Replace(text, "<[^>]+>", "");
        return System.Net.WebUtility.HtmlDecode(text).Trim();
    }

    private static byte[] Hmac(HMAC hmac, ReadOnlySpan<byte[]> parts)
    {
        using (hmac)
        {
            foreach (var part in parts)
            {
                hmac.TransformBlock(part, 0, part.Length, null, 0);
            }

            hmac.TransformFinalBlock([], 0, 0);
            return hmac.Hash!;
        }
    }
}
