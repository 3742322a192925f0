using Microsoft.Extensions.Options;

namespace CustomerGrains.Silo.Hosting;

/// <summary>
/// The cluster's operators (configuration section <c>Operators</c>): they, and no tenant, open the Orleans dashboard,
/// which shows every tenant's grains and can activate any grain. A tenant's admin key manages that tenant only.
/// </summary>
public sealed class OperatorOptions
{
    public const string SectionName = "Operators";
    public const int MinKeyLength = 32;

    /// <summary>Keys that open /dashboard (Bearer, or the password of HTTP Basic); none: the dashboard is closed.
    /// Several while one is being rotated.</summary>
    public List<string> Keys { get; set; } = [];

    /// <summary>Whether the dashboard's Trace page streams the silos' logs (every tenant's, unmasked); off by default.</summary>
    public bool DashboardTrace { get; set; }
}

internal sealed class OperatorOptionsValidator(IConfiguration configuration) : IValidateOptions<OperatorOptions>
{
    public ValidateOptionsResult Validate(string? name, OperatorOptions options)
    {
        var failures = new List<string>();
        var tenantKeys = configuration.GetSection("Tenants").GetChildren()
            .SelectMany(tenant => tenant.GetSection("ApiKeys").GetChildren().Select(key => key["Key"]))
            .ToHashSet(StringComparer.Ordinal);
        for (var i = 0; i < options.Keys.Count; i++)
        {
            if (options.Keys[i] is not { Length: >= OperatorOptions.MinKeyLength } key)
            {
                failures.Add($"Operators:Keys:{i} must be at least {OperatorOptions.MinKeyLength} characters.");
            }
            else if (tenantKeys.Contains(key))
            {
                failures.Add($"Operators:Keys:{i} is also a tenant's API key; an operator key must be its own.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
