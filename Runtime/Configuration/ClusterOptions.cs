using Microsoft.Extensions.Options;

namespace CustomerGrains.Runtime.Configuration;

/// <summary>Cluster identity and membership settings (configuration section <c>Cluster</c>).</summary>
public sealed class ClusterOptions
{
    public const string SectionName = "Cluster";
    public const string DefaultClusterId = "customergrains";
    public const string DefaultServiceId = "customergrains";
    public const int MinimumClusterKeyLength = 16;
    public static readonly TimeSpan DefaultRefreshInterval = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan DefaultDeathTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Silos with the same cluster id form one cluster (membership rows are keyed by it).</summary>
    public string ClusterId { get; set; } = DefaultClusterId;

    /// <summary>Grain state rows are keyed by the service id, so a redeployed cluster keeps its state.</summary>
    public string ServiceId { get; set; } = DefaultServiceId;

    /// <summary>Shared secret every silo sends on silo-to-silo calls; at least 16 characters. Required.</summary>
    public string? ClusterKey { get; set; }

    /// <summary>This silo's name in the membership table; defaults to <c>{machine}-{port}</c>.</summary>
    public string? SiloName { get; set; }

    /// <summary>The URL other silos use to reach this silo's cluster endpoint; defaults to the address it listens on.</summary>
    public string? AdvertisedUrl { get; set; }

    /// <summary>How often a silo heartbeats, checks for dead silos and re-reads membership.</summary>
    public TimeSpan RefreshInterval { get; set; } = DefaultRefreshInterval;

    /// <summary>A silo whose last heartbeat is older than this is declared dead by the others.</summary>
    public TimeSpan DeathTimeout { get; set; } = DefaultDeathTimeout;
}

internal sealed class ClusterOptionsValidator : IValidateOptions<ClusterOptions>
{
    public ValidateOptionsResult Validate(string? name, ClusterOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ClusterId))
        {
            failures.Add("Cluster:ClusterId must not be empty.");
        }

        if (string.IsNullOrWhiteSpace(options.ServiceId))
        {
            failures.Add("Cluster:ServiceId must not be empty.");
        }

        if (options.ClusterKey is null || options.ClusterKey.Length < ClusterOptions.MinimumClusterKeyLength)
        {
            failures.Add($"Cluster:ClusterKey must be set to a secret of at least {ClusterOptions.MinimumClusterKeyLength} characters shared by all silos.");
        }

        if (options.AdvertisedUrl is not null && !Uri.TryCreate(options.AdvertisedUrl, UriKind.Absolute, out _))
        {
            failures.Add($"Cluster:AdvertisedUrl '{options.AdvertisedUrl}' is not an absolute URL.");
        }

        if (options.RefreshInterval <= TimeSpan.Zero)
        {
            failures.Add("Cluster:RefreshInterval must be positive.");
        }

        if (options.DeathTimeout < options.RefreshInterval * 2)
        {
            failures.Add("Cluster:DeathTimeout must be at least twice Cluster:RefreshInterval, or live silos get declared dead.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
