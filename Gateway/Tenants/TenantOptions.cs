using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace CustomerGrains.Gateway.Tenants;

/// <summary>The agent-API roles. Agents read and write customer context; seniors also answer escalations;
/// admins also erase and export; operators see only health.</summary>
public static class Roles
{
    public const string Agent = "agent";
    public const string Senior = "senior";
    public const string Admin = "admin";
    public const string Operator = "operator";

    public static readonly IReadOnlySet<string> All = new HashSet<string>([Agent, Senior, Admin, Operator], StringComparer.Ordinal);
}

/// <summary>The CRM webhook formats the gateway understands.</summary>
public static class Providers
{
    public const string Chatwoot = "chatwoot";
    public const string Zendesk = "zendesk";
    public const string Intercom = "intercom";
    public const string HubSpot = "hubspot";
    public const string Standard = "standard";

    public static readonly IReadOnlySet<string> All = new HashSet<string>([Chatwoot, Zendesk, Intercom, HubSpot, Standard], StringComparer.Ordinal);
}

/// <summary>One tenant (configuration <c>Tenants:{id}</c>), keyed by id so environment variables read
/// <c>Tenants__acme__ApiKeys__0__Key</c>.</summary>
public sealed class TenantOptions
{
    public List<ApiKeyOptions> ApiKeys { get; set; } = [];

    /// <summary>Webhook connections by id; the id is the last segment of the webhook URL, unique across tenants.</summary>
    public Dictionary<string, ConnectionOptions> Connections { get; set; } = [];

    /// <summary>Where escalated questions are sent; none: they wait in the AwaitingSenior list only.</summary>
    public EscalationOptions? Escalation { get; set; }
}

public sealed class ApiKeyOptions
{
    /// <summary>The bearer token agents send; at least 16 characters. Only its SHA-256 hash is kept after start.</summary>
    public string? Key { get; set; }

    /// <summary>agent, senior, admin or operator.</summary>
    public string? Role { get; set; }
}

public sealed class ConnectionOptions
{
    /// <summary>chatwoot, zendesk, intercom, hubspot or standard.</summary>
    public string? Provider { get; set; }

    /// <summary>Signing secrets; several while a secret is being rotated (any one verifies). Standard Webhooks
    /// secrets are <c>whsec_&lt;base64&gt;</c>; HubSpot's is the app's client secret.</summary>
    public List<string> Secrets { get; set; } = [];

    /// <summary>Provider options: <c>TrustEmail</c> (the CRM vouches for its contacts' emails, which then link
    /// customers), <c>PublicUrl</c> (the URL the CRM calls, when a proxy rewrites it), HubSpot <c>AccessToken</c> and
    /// <c>ApiBaseUrl</c> (to fetch message text), Standard <c>IdentityProvider</c>; and what sending replies needs
    /// (README, "Sending replies into the CRM"): <c>ApiBaseUrl</c>, <c>AccessToken</c>, Chatwoot <c>AccountId</c>,
    /// Zendesk <c>Email</c> and <c>ApiToken</c>, Intercom <c>AdminId</c>, HubSpot <c>SenderActorId</c>, Standard
    /// <c>ReplyUrl</c>; and for reading history (README, "Importing history"): <c>RequestsPerMinute</c> (the pace of
    /// the CRM's API, default per vendor) and <c>ReconcileEvery</c> (a time span; off when absent).</summary>
    public Dictionary<string, string> Options { get; set; } = [];
}

internal sealed partial class TenantsValidator
{
    private const int MinSecretLength = 16;
    private const int MinSecretBytes = 16;

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]{0,62}$")]
    private static partial Regex IdPattern();

    public static IEnumerable<string> Validate(IReadOnlyDictionary<string, TenantOptions> tenants)
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        var connections = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (tenantId, tenant) in tenants)
        {
            if (!IdPattern().IsMatch(tenantId))
            {
                yield return $"Tenants:{tenantId}: a tenant id is lower-case letters, digits, '-' and '_' (at most 63).";
            }

            for (var i = 0; i < tenant.ApiKeys.Count; i++)
            {
                var apiKey = tenant.ApiKeys[i];
                if (apiKey.Key is null || apiKey.Key.Length < 16)
                {
                    yield return $"Tenants:{tenantId}:ApiKeys:{i}:Key must be at least 16 characters.";
                }
                else if (!keys.Add(apiKey.Key))
                {
                    yield return $"Tenants:{tenantId}:ApiKeys:{i}:Key is used twice; every key must name one tenant and role.";
                }

                if (apiKey.Role is null || !Roles.All.Contains(apiKey.Role))
                {
                    yield return $"Tenants:{tenantId}:ApiKeys:{i}:Role '{apiKey.Role}' is not one of {string.Join(", ", Roles.All)}.";
                }
            }

            if (tenant.Escalation is { } escalation)
            {
                if (!Uri.TryCreate(escalation.Url, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
                {
                    yield return $"Tenants:{tenantId}:Escalation:Url must be an absolute http(s) URL.";
                }

                if (escalation.Secret is null || !Webhooks.StandardWebhooksProvider.TryDecodeSecret(escalation.Secret, out _))
                {
                    yield return $"Tenants:{tenantId}:Escalation:Secret must be 'whsec_' followed by base64.";
                }
            }

            foreach (var (connectionId, connection) in tenant.Connections)
            {
                var at = $"Tenants:{tenantId}:Connections:{connectionId}";
                if (!IdPattern().IsMatch(connectionId))
                {
                    yield return $"{at}: a connection id is lower-case letters, digits, '-' and '_'.";
                }

                if (connections.TryGetValue(connectionId, out var other))
                {
                    yield return $"{at}: connection id '{connectionId}' is also used by tenant '{other}'; webhook URLs name only the connection.";
                }

                connections[connectionId] = tenantId;
                if (connection.Provider is null || !Providers.All.Contains(connection.Provider))
                {
                    yield return $"{at}:Provider '{connection.Provider}' is not one of {string.Join(", ", Providers.All)}.";
                }

                if (connection.Secrets.Count == 0 || connection.Secrets.Any(string.IsNullOrWhiteSpace))
                {
                    yield return $"{at}:Secrets needs at least one signing secret.";
                }
                else if (connection.Provider == Providers.Standard)
                {
                    if (connection.Secrets.Any(s => !Webhooks.StandardWebhooksProvider.TryDecodeSecret(s, out var key) || key.Length < MinSecretBytes))
                    {
                        yield return $"{at}:Secrets: Standard Webhooks secrets are 'whsec_' followed by the base64 of at least {MinSecretBytes} random bytes.";
                    }
                }
                else if (connection.Secrets.Any(s => s.Length < MinSecretLength))
                {
                    yield return $"{at}:Secrets: a signing secret is at least {MinSecretLength} characters (a short one can be guessed).";
                }

                if (connection.Provider == Providers.HubSpot && !connection.Options.ContainsKey("AccessToken"))
                {
                    yield return $"{at}:Options:AccessToken is needed: HubSpot webhooks carry no message text, which is fetched with it.";
                }

                var options = new Dictionary<string, string>(connection.Options, StringComparer.OrdinalIgnoreCase);
                if (options.TryGetValue("ReconcileEvery", out var every)
                    && (!TimeSpan.TryParse(every, System.Globalization.CultureInfo.InvariantCulture, out var interval) || interval < TimeSpan.FromMinutes(1)))
                {
                    yield return $"{at}:Options:ReconcileEvery '{every}' is not a time span of at least a minute (e.g. 00:15:00).";
                }

                if (options.TryGetValue("RequestsPerMinute", out var rate) && (!int.TryParse(rate, out var perMinute) || perMinute < 1))
                {
                    yield return $"{at}:Options:RequestsPerMinute '{rate}' is not a positive whole number.";
                }
            }
        }
    }
}
