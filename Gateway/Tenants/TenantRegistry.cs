using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Configuration;
using CustomerGrains.Grains;
using Microsoft.Extensions.Options;

namespace CustomerGrains.Gateway.Tenants;

/// <summary>Who is calling the agent API: the tenant and role of their key, and a short id of the key for audit.</summary>
public sealed record Caller(string TenantId, string Role, string KeyId);

/// <summary>A configured webhook connection.</summary>
public sealed record Connection(string TenantId, string Id, string Provider, IReadOnlyList<string> Secrets, IReadOnlyDictionary<string, string> Options)
{
    /// <summary>The namespace of this connection's contact ids, <c>{provider}@{connection}</c>: contact 42 of one Chatwoot
    /// account and contact 42 of another are two customers. A Standard connection's <c>IdentityProvider</c> option
    /// names a namespace of the tenant's choosing instead (one its CRMs share).</summary>
    public string IdentityProvider => Provider == Providers.Standard && Options.TryGetValue("IdentityProvider", out var shared) ? shared : $"{Provider}@{Id}";

    /// <summary>Whether the CRM vouches for its contacts' emails (<c>Options:TrustEmail</c>, off by default): only then
    /// does an email link a contact to the customer who has it. A chat widget's pre-chat form lets a visitor type
    /// anyone's email; linking by it would show them the owner's history.</summary>
    public bool TrustsEmail => Options.TryGetValue("TrustEmail", out var trust) && bool.TryParse(trust, out var trusted) && trusted;

    /// <summary>The identity of a contact of this connection.</summary>
    public ExternalIdentity Contact(string contactId) => new(IdentityProvider, contactId);

    /// <summary>A contact's identities, its email among them where the connection vouches for it; and the facts with
    /// the email as the profile's where vouched for, or as an unverified attribute where not.</summary>
    public (List<ExternalIdentity> Identities, CustomerFacts Facts) Identify(string contactId, CustomerFacts facts) => Identify(Contact(contactId), facts);

    /// <inheritdoc cref="Identify(string, CustomerFacts)"/>
    public (List<ExternalIdentity> Identities, CustomerFacts Facts) Identify(ExternalIdentity contact, CustomerFacts facts)
    {
        var identities = new List<ExternalIdentity> { contact };
        if (string.IsNullOrWhiteSpace(facts.Email))
        {
            return (identities, facts);
        }

        if (TrustsEmail)
        {
            identities.Add(new ExternalIdentity("email", facts.Email));
            return (identities, facts);
        }

        var attributes = new Dictionary<string, string>(facts.Attributes ?? new Dictionary<string, string>()) { [UnverifiedEmail] = facts.Email };
        return (identities, facts with { Email = null, Attributes = attributes });
    }

    /// <summary>The profile attribute an email goes to when its connection does not vouch for it.</summary>
    public const string UnverifiedEmail = "unverified_email";
}

/// <summary>
/// Tenants, keys and connections from configuration (section <c>Tenants</c>). API keys are kept only as SHA-256
/// hashes and looked up by hash, so response times reveal nothing about a key.
/// </summary>
public sealed class TenantRegistry
{
    public const string SectionName = "Tenants";
    private readonly Dictionary<string, Caller> _callersByKeyHash = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Connection> _connections = new(StringComparer.Ordinal);
    private readonly Dictionary<string, EscalationOptions> _escalations = new(StringComparer.Ordinal);

    public TenantRegistry(IConfiguration configuration)
    {
        var tenants = Read(configuration);
        var failures = Validate(configuration).ToList();
        if (failures.Count > 0)
        {
            throw new OptionsValidationException(SectionName, typeof(TenantOptions), failures);
        }

        foreach (var (tenantId, tenant) in tenants)
        {
            foreach (var apiKey in tenant.ApiKeys)
            {
                var hash = Hash(apiKey.Key!);
                _callersByKeyHash[hash] = new Caller(tenantId, apiKey.Role!, hash[..8]);
            }

            if (tenant.Escalation is { } escalation)
            {
                _escalations[tenantId] = escalation;
            }

            foreach (var (id, connection) in tenant.Connections)
            {
                _connections[id] = new Connection(tenantId, id, connection.Provider!, [.. connection.Secrets], new Dictionary<string, string>(connection.Options, StringComparer.OrdinalIgnoreCase));
            }
        }

        TenantIds = tenants.Keys.ToHashSet(StringComparer.Ordinal);
    }

    public IReadOnlySet<string> TenantIds { get; }

    /// <summary>Every problem with the <c>Tenants</c> section.</summary>
    public static IEnumerable<string> Validate(IConfiguration configuration)
    {
        Dictionary<string, TenantOptions> tenants;
        try
        {
            tenants = Read(configuration);
        }
        catch (InvalidOperationException ex)
        {
            return [$"{SectionName}: {ex.Message}"];
        }

        return TenantsValidator.Validate(tenants);
    }

    private static Dictionary<string, TenantOptions> Read(IConfiguration configuration) =>
        configuration.GetSection(SectionName).Get<Dictionary<string, TenantOptions>>() ?? [];

    public bool TryAuthenticate(string? presentedKey, out Caller caller)
    {
        caller = null!;
        if (string.IsNullOrEmpty(presentedKey))
        {
            return false;
        }

        // Looked up by hash: the dictionary compares hashes, never the secret itself.
        return _callersByKeyHash.TryGetValue(Hash(presentedKey), out caller!);
    }

    /// <summary>Where the tenant's escalations go, if anywhere.</summary>
    public EscalationOptions? EscalationOf(string tenantId) => _escalations.GetValueOrDefault(tenantId);

    public bool TryGetConnection(string provider, string connectionId, out Connection connection) =>
        TryGetConnection(connectionId, out connection) && connection.Provider == provider;

    /// <summary>The connection of that id (connection ids are unique across tenants).</summary>
    public bool TryGetConnection(string connectionId, out Connection connection) => _connections.TryGetValue(connectionId, out connection!);

    /// <summary>The tenant's connections of <paramref name="provider"/>.</summary>
    public IReadOnlyList<Connection> ConnectionsOf(string tenantId, string provider) =>
        [.. _connections.Values.Where(c => c.TenantId == tenantId && c.Provider == provider).OrderBy(c => c.Id, StringComparer.Ordinal)];

    /// <summary>Every configured connection.</summary>
    public IEnumerable<Connection> Connections => _connections.Values;

    private static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
}
