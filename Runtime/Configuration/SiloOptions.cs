using Microsoft.Extensions.Options;

namespace CustomerGrains.Runtime.Configuration;

/// <summary>Where a silo listens (configuration section <c>Silo</c>).</summary>
public sealed class SiloOptions
{
    public const string SectionName = "Silo";
    public const string DefaultHost = "127.0.0.1";
    public const int DefaultPort = 8080;

    /// <summary>The address both endpoints bind to; 0.0.0.0 for all interfaces.</summary>
    public string Host { get; set; } = DefaultHost;

    /// <summary>The public HTTP endpoint (webhooks, agent API, health); 0 picks a free port.</summary>
    public int Port { get; set; } = DefaultPort;

    /// <summary>The cluster endpoint (HTTP/2 only, silo-to-silo calls); 0, the default, picks a free port,
    /// which the silo publishes in the membership table.</summary>
    public int ClusterPort { get; set; }
}

internal sealed class SiloOptionsValidator : IValidateOptions<SiloOptions>
{
    public ValidateOptionsResult Validate(string? name, SiloOptions options)
    {
        var failures = new List<string>();
        if (!System.Net.IPAddress.TryParse(options.Host, out _) && options.Host != "localhost")
        {
            failures.Add($"Silo:Host '{options.Host}' must be an IP address or localhost.");
        }

        if (options.Port is < 0 or > 65535)
        {
            failures.Add($"Silo:Port {options.Port} is not a TCP port.");
        }

        if (options.ClusterPort is < 0 or > 65535)
        {
            failures.Add($"Silo:ClusterPort {options.ClusterPort} is not a TCP port.");
        }

        if (options.Port != 0 && options.Port == options.ClusterPort)
        {
            failures.Add("Silo:Port and Silo:ClusterPort must differ: the cluster endpoint speaks only HTTP/2.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
