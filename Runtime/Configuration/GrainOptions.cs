using Microsoft.Extensions.Options;

namespace CustomerGrains.Runtime.Configuration;

/// <summary>Call and activation settings (configuration section <c>Grains</c>).</summary>
public sealed class GrainOptions
{
    public const string SectionName = "Grains";
    public static readonly TimeSpan DefaultCallTimeout = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan DefaultCollectionAge = TimeSpan.FromMinutes(15);
    public static readonly TimeSpan DefaultCollectionInterval = TimeSpan.FromMinutes(1);

    /// <summary>A call that has not completed after this long fails with <see cref="GrainCallTimeoutException"/>.</summary>
    public TimeSpan CallTimeout { get; set; } = DefaultCallTimeout;

    /// <summary>An activation unused for this long is deactivated (its state persisted) to free memory.</summary>
    public TimeSpan CollectionAge { get; set; } = DefaultCollectionAge;

    /// <summary>How often idle activations are looked for.</summary>
    public TimeSpan CollectionInterval { get; set; } = DefaultCollectionInterval;
}

internal sealed class GrainOptionsValidator : IValidateOptions<GrainOptions>
{
    public ValidateOptionsResult Validate(string? name, GrainOptions options)
    {
        var failures = new List<string>();
        if (options.CallTimeout <= TimeSpan.Zero)
        {
            failures.Add("Grains:CallTimeout must be positive.");
        }

        if (options.CollectionAge <= TimeSpan.Zero)
        {
            failures.Add("Grains:CollectionAge must be positive.");
        }

        if (options.CollectionInterval <= TimeSpan.Zero)
        {
            failures.Add("Grains:CollectionInterval must be positive.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
