using System.Security.Cryptography;
using System.Text;

namespace CustomerGrains.Testing;

/// <summary>Each vendor's documented signing scheme, written from the vendor's description (not from the gateway).</summary>
public static class Signing
{
    public const string ChatwootSecret = "chatwoot-secret-0123456789";
    public const string ZendeskSecret = "zendesk-secret-0123456789";
    public const string IntercomSecret = "intercom-client-secret-01";
    public const string HubSpotSecret = "hubspot-client-secret-012";
    public static readonly string StandardSecret = "whsec_" + Convert.ToBase64String(Encoding.UTF8.GetBytes("standard-webhooks-key-0123456789"));

    /// <summary>X-Chatwoot-Signature: sha256=hex(HMAC-SHA256(secret, "{timestamp}.{body}")).</summary>
    public static Dictionary<string, string> Chatwoot(string body, DateTimeOffset at, string secret = ChatwootSecret)
    {
        var timestamp = at.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{timestamp}.{body}"));
        return new() { ["X-Chatwoot-Signature"] = "sha256=" + Convert.ToHexStringLower(mac), ["X-Chatwoot-Timestamp"] = timestamp, ["X-Chatwoot-Delivery"] = Guid.NewGuid().ToString() };
    }

    /// <summary>X-Zendesk-Webhook-Signature: base64(HMAC-SHA256(secret, timestamp + body)).</summary>
    public static Dictionary<string, string> Zendesk(string body, DateTimeOffset at, string secret = ZendeskSecret)
    {
        var timestamp = at.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(timestamp + body));
        return new() { ["X-Zendesk-Webhook-Signature"] = Convert.ToBase64String(mac), ["X-Zendesk-Webhook-Signature-Timestamp"] = timestamp };
    }

    /// <summary>X-Hub-Signature: sha1=hex(HMAC-SHA1(client secret, body)); no timestamp.</summary>
    public static Dictionary<string, string> Intercom(string body, string secret = IntercomSecret)
    {
        var mac = HMACSHA1.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(body));
        return new() { ["X-Hub-Signature"] = "sha1=" + Convert.ToHexStringLower(mac) };
    }

    /// <summary>X-HubSpot-Signature-v3: base64(HMAC-SHA256(client secret, method + uri + body + timestamp)), timestamp in ms.</summary>
    public static Dictionary<string, string> HubSpot(string body, Uri uri, DateTimeOffset at, string secret = HubSpotSecret)
    {
        var timestamp = at.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes("POST" + uri + body + timestamp));
        return new() { ["X-HubSpot-Signature-v3"] = Convert.ToBase64String(mac), ["X-HubSpot-Request-Timestamp"] = timestamp };
    }

    /// <summary>webhook-signature: v1,base64(HMAC-SHA256(base64-decoded secret, "{id}.{timestamp}.{body}")).</summary>
    public static Dictionary<string, string> Standard(string body, string id, DateTimeOffset at, string? secret = null)
    {
        var key = Convert.FromBase64String((secret ?? StandardSecret)["whsec_".Length..]);
        var timestamp = at.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var mac = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{id}.{timestamp}.{body}"));
        return new() { ["webhook-id"] = id, ["webhook-timestamp"] = timestamp, ["webhook-signature"] = "v1," + Convert.ToBase64String(mac) };
    }
}
