using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace CustomerGrains.Gateway.Tenants;

/// <summary>Who is calling the agent API: the tenant and role of their key, and a short id of the key for audit.</summary>
public sealed record Caller(string TenantId, string Role, string KeyId);

/// <summary>A configured webhook connection.</summary>
public sealed record Connection(string TenantId, string Id, string Provider, IReadOnlyList<string> Secrets, IReadOnlyDictionary<string, string> Options);

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
        _connections.TryGetValue(connectionId, out connection!) && connection.Provider == provider;

    private static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
}
