using Microsoft.Extensions.Options;

namespace CustomerGrains.Gateway.Inbox;

/// <summary>Delivery of inbox rows to customer grains (configuration section <c>Inbox</c>).</summary>
public sealed class InboxOptions
{
    public const string SectionName = "Inbox";
    public static readonly TimeSpan DefaultClaimTimeout = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan DefaultPollInterval = TimeSpan.FromSeconds(1);
    public const int DefaultMaxAttempts = 10;
    public const int DefaultQueueRows = 100_000;

    /// <summary>A silo delivering a row holds it this long; if the silo dies, another re-delivers it after that.
    /// Longer than the grain call timeout.</summary>
    public TimeSpan ClaimTimeout { get; set; } = DefaultClaimTimeout;

    /// <summary>How often each silo looks for rows that are due (retries, rows of dead silos).</summary>
    public TimeSpan PollInterval { get; set; } = DefaultPollInterval;

    /// <summary>After this many failed deliveries a row is set aside as poison, with the last error.</summary>
    public int MaxAttempts { get; set; } = DefaultMaxAttempts;

    /// <summary>Rows a silo keeps in memory for delivery (about 1 KB each); beyond them, rows are left to the poller.</summary>
    public int QueueRows { get; set; } = DefaultQueueRows;
}

internal sealed class InboxOptionsValidator : IValidateOptions<InboxOptions>
{
    public ValidateOptionsResult Validate(string? name, InboxOptions options)
    {
        var failures = new List<string>();
        if (options.ClaimTimeout <= TimeSpan.Zero)
        {
            failures.Add("Inbox:ClaimTimeout must be positive.");
        }

        if (options.PollInterval <= TimeSpan.Zero)
        {
            failures.Add("Inbox:PollInterval must be positive.");
        }

        if (options.MaxAttempts < 1)
        {
            failures.Add("Inbox:MaxAttempts must be at least 1.");
        }

        if (options.QueueRows < 1)
        {
            failures.Add("Inbox:QueueRows must be at least 1.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
