using Microsoft.Extensions.Options;

namespace CustomerGrains.Silo.Hosting;

/// <summary>Where a silo's public HTTP endpoint listens (configuration section <c>Silo</c>).</summary>
public sealed class SiloOptions
{
    public const string SectionName = "Silo";
    public const string DefaultHost = "127.0.0.1";
    public const int DefaultPort = 8080;

    /// <summary>The address the public endpoint and Orleans' ports bind to; 0.0.0.0 for all interfaces.</summary>
    public string Host { get; set; } = DefaultHost;

    /// <summary>The public HTTP endpoint (webhooks, agent API, console, health); 0 picks a free port.</summary>
    public int Port { get; set; } = DefaultPort;

    /// <summary>A second HTTP port for operators: /metrics, /dashboard and /openapi are served there only, and the
    /// public port answers 404 for them (what a load balancer or ingress exposes cannot reach them). 0 (default): they
    /// are on the public port, as suits one silo on a laptop.</summary>
    public int ManagementPort { get; set; }

    /// <summary>The operators' routes, which <see cref="ManagementPort"/> takes off the public port.</summary>
    public static readonly string[] ManagementRoutes = ["/metrics", "/dashboard", "/openapi"];

    /// <summary>How long a stop (SIGTERM) may drain: accepted requests answered, queued webhooks handed back, grains
    /// deactivated, the cluster left. A silo process that has still not ended <see cref="ShutdownDeadline.Grace"/>
    /// later exits anyway (<see cref="ShutdownDeadline"/>).</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// The Orleans cluster a silo joins (configuration section <c>Orleans</c>): its identity, the silo-to-silo and client
/// gateway ports, and the membership timings that decide how fast a dead silo is noticed.
/// </summary>
public sealed class OrleansSettings
{
    public const string SectionName = "Orleans";
    public const int BaseSiloPort = 11111;

    /// <summary>Silos with the same ClusterId and database form one cluster (Orleans' ClusterOptions.ClusterId).</summary>
    public string ClusterId { get; set; } = "customergrains";

    /// <summary>The key grain state and reminders are stored under; keep it across deployments (ClusterOptions.ServiceId).</summary>
    public string ServiceId { get; set; } = "customergrains";

    /// <summary>Silo-to-silo TCP port. 0 (default): for a public port P of 8080-9079, 11111 + (P - 8080), so that silos
    /// started with <c>run.sh --port P</c> on one machine never clash; for any other public port, a free port of
    /// 12111-32110 chosen at start (<see cref="SiloPorts.FreeRange"/>). Either way the membership table advertises the port the silo listens on, and a port already taken on
    /// this host stops the start (<see cref="SiloPorts"/>).</summary>
    public int SiloPort { get; set; }

    /// <summary>Port of Orleans' client gateway, for external Orleans clients. 0 (default, or -1): none. The silo's own
    /// web host calls grains in process and needs none; the gateway has no authentication of its own, so open it only
    /// inside a network boundary that only trusted clients reach.</summary>
    public int GatewayPort { get; set; }

    /// <summary>The address other silos reach this one at; default: <c>Silo:Host</c>, or 127.0.0.1 when that is 0.0.0.0.
    /// Behind NAT or in a pod, set it to the address the others can reach.</summary>
    public string? AdvertisedIP { get; set; }

    /// <summary>A PKCS #12 (.pfx) certificate with its key: silo-to-silo connections then use mutual TLS, each silo
    /// showing it and accepting only a peer that shows the same certificate, or one whose chain the host trusts. None
    /// (default): plain TCP, for a network that only the silos reach (README, "TLS between silos").</summary>
    public string? TlsCertificatePath { get; set; }

    /// <summary>The password of <see cref="TlsCertificatePath"/>, if it has one.</summary>
    public string? TlsCertificatePassword { get; set; }

    /// <summary>In a Kubernetes pod: Orleans' Kubernetes hosting (Microsoft.Orleans.Hosting.Kubernetes) takes the
    /// advertised address from POD_IP and the cluster and service ids from the pod's labels, and deletes the membership
    /// rows of pods that are gone (deploy/kubernetes).</summary>
    public bool KubernetesHosting { get; set; }

    /// <summary>How long a probe of another silo may take before it counts as missed (Orleans' default 5 s).</summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Missed probes before a silo is suspected and voted dead (Orleans' default 3).</summary>
    public int NumMissedProbesLimit { get; set; } = 2;

    /// <summary>Votes needed to declare a silo dead (at most half the live silos count).</summary>
    public int NumVotesForDeathDeclaration { get; set; } = 2;

    /// <summary>How often each silo re-reads the membership table (Orleans' default 60 s).</summary>
    public TimeSpan TableRefreshTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often each silo writes its heartbeat to the table (Orleans' default 30 s).</summary>
    public TimeSpan IAmAliveTablePublishTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a grain call waits for its answer (Orleans' ResponseTimeout, default 30 s).</summary>
    public TimeSpan ResponseTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The silo-to-silo port configured or derived from <paramref name="publicPort"/>; null: choose a free one.</summary>
    public int? SiloPortFor(int publicPort) => SiloPort != 0
        ? SiloPort
        : publicPort is >= SiloOptions.DefaultPort and < SiloOptions.DefaultPort + DerivedRange ? BaseSiloPort + (publicPort - SiloOptions.DefaultPort) : null;

    /// <summary>The client gateway's port; 0: none.</summary>
    public int ClientGatewayPort => Math.Max(0, GatewayPort);

    /// <summary>Public ports whose silo-to-silo port is derived (8080 up to this many more).</summary>
    public const int DerivedRange = 1000;
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

        if (options.ManagementPort is < 0 or > 65535 || options.ManagementPort != 0 && options.ManagementPort == options.Port)
        {
            failures.Add($"Silo:ManagementPort {options.ManagementPort} is not a TCP port other than Silo:Port (or 0 for none).");
        }

        if (options.ShutdownTimeout <= TimeSpan.Zero)
        {
            failures.Add("Silo:ShutdownTimeout must be positive.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

internal sealed class OrleansSettingsValidator : IValidateOptions<OrleansSettings>
{
    public ValidateOptionsResult Validate(string? name, OrleansSettings options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ClusterId) || string.IsNullOrWhiteSpace(options.ServiceId))
        {
            failures.Add("Orleans:ClusterId and Orleans:ServiceId must not be empty.");
        }

        if (options.SiloPort is < 0 or > 65535)
        {
            failures.Add($"Orleans:SiloPort {options.SiloPort} is not a TCP port.");
        }

        if (options.GatewayPort is < -1 or > 65535)
        {
            failures.Add($"Orleans:GatewayPort {options.GatewayPort} is not a TCP port (or 0 for none).");
        }

        if (options.AdvertisedIP is { } ip && !System.Net.IPAddress.TryParse(ip, out _))
        {
            failures.Add($"Orleans:AdvertisedIP '{ip}' is not an IP address.");
        }

        if (options.TlsCertificatePath is { } certificate && !File.Exists(certificate))
        {
            failures.Add($"Orleans:TlsCertificatePath '{certificate}' is not a file.");
        }

        if (options.ProbeTimeout <= TimeSpan.Zero || options.TableRefreshTimeout <= TimeSpan.Zero || options.IAmAliveTablePublishTimeout <= TimeSpan.Zero || options.ResponseTimeout <= TimeSpan.Zero)
        {
            failures.Add("Orleans:ProbeTimeout, TableRefreshTimeout, IAmAliveTablePublishTimeout and ResponseTimeout must be positive.");
        }

        if (options.NumMissedProbesLimit < 1 || options.NumVotesForDeathDeclaration < 1)
        {
            failures.Add("Orleans:NumMissedProbesLimit and NumVotesForDeathDeclaration must be at least 1.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
