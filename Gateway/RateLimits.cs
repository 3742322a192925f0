using System.Threading.RateLimiting;
using CustomerGrains.Gateway.Tenants;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CustomerGrains.Gateway;

/// <summary>
/// How much of the silos' work one API key and one tenant may ask for (configuration section <c>RateLimits</c>):
/// suggestions and knowledge-base questions run models on cores every tenant shares, so a key that floods them would
/// slow every agent of every tenant. Token buckets: a burst of up to a tenth of a minute's allowance, refilled evenly.
/// </summary>
public sealed class RateLimitOptions
{
    public const string SectionName = "RateLimits";

    /// <summary>Suggestion requests per minute for one API key.</summary>
    public int SuggestionsPerMinute { get; set; } = 60;

    /// <summary>Suggestion requests per minute for one tenant, all its keys together.</summary>
    public int TenantSuggestionsPerMinute { get; set; } = 600;

    /// <summary>Knowledge-base questions (<c>POST /v1/kb/ask</c>) per minute for one API key.</summary>
    public int AsksPerMinute { get; set; } = 120;

    /// <summary>Knowledge-base questions per minute for one tenant.</summary>
    public int TenantAsksPerMinute { get; set; } = 1200;

    /// <summary>Replies sent into CRMs (<c>POST /v1/customers/{id}/replies</c>) per minute for one API key.</summary>
    public int RepliesPerMinute { get; set; } = 120;

    /// <summary>Replies per minute for one tenant.</summary>
    public int TenantRepliesPerMinute { get; set; } = 1200;

    /// <summary>Live event streams (an open customer view each) one API key may hold at once.</summary>
    public int EventStreamsPerKey { get; set; } = 20;
}

internal sealed class RateLimitOptionsValidator : IValidateOptions<RateLimitOptions>
{
    public ValidateOptionsResult Validate(string? name, RateLimitOptions options)
    {
        var failures = new List<string>();
        foreach (var (key, value) in new[]
                 {
                     (nameof(options.SuggestionsPerMinute), options.SuggestionsPerMinute), (nameof(options.TenantSuggestionsPerMinute), options.TenantSuggestionsPerMinute),
                     (nameof(options.AsksPerMinute), options.AsksPerMinute), (nameof(options.TenantAsksPerMinute), options.TenantAsksPerMinute),
                     (nameof(options.RepliesPerMinute), options.RepliesPerMinute), (nameof(options.TenantRepliesPerMinute), options.TenantRepliesPerMinute),
                     (nameof(options.EventStreamsPerKey), options.EventStreamsPerKey),
                 })
        {
            if (value < 1)
            {
                failures.Add($"{RateLimitOptions.SectionName}:{key} must be at least 1.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>What an endpoint's requests count against.</summary>
public enum RateLimited
{
    Suggestions,
    Asks,
    Replies,
    EventStreams,
}

/// <summary>The endpoint metadata the limiter reads.</summary>
internal sealed record RateLimitMetadata(RateLimited Kind);

/// <summary>ASP.NET Core's rate limiter over the agent API: per key and per tenant, answered 429 with Retry-After.</summary>
public static class RateLimits
{
    public static IServiceCollection AddApiRateLimits(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RateLimitOptions>().Bind(configuration.GetSection(RateLimitOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<RateLimitOptions>, RateLimitOptionsValidator>();
        services.AddRateLimiter(limiter =>
        {
            // One limiter chained over the key's and the tenant's partitions; an endpoint without RateLimited metadata,
            // or a request without a valid key (which ApiKeyFilter answers 401), is not limited here.
            limiter.GlobalLimiter = PartitionedRateLimiter.CreateChained(
                PartitionedRateLimiter.Create<HttpContext, (string, RateLimited)>(http => Partition(http, perKey: true)),
                PartitionedRateLimiter.Create<HttpContext, (string, RateLimited)>(http => Partition(http, perKey: false)));
            limiter.OnRejected = async (context, cancellationToken) =>
            {
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(1);
                var http = context.HttpContext;
                http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                await Results.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many requests",
                    detail: $"This API key or its tenant is over its rate limit ({RateLimitOptions.SectionName}); try again in {http.Response.Headers.RetryAfter} s.").ExecuteAsync(http);
            };
        });
        return services;
    }

    /// <summary>Counts the endpoint's requests against <paramref name="limited"/>'s limits.</summary>
    public static TBuilder LimitRate<TBuilder>(this TBuilder builder, RateLimited limited)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new RateLimitMetadata(limited));

    private static RateLimitPartition<(string, RateLimited)> Partition(HttpContext http, bool perKey)
    {
        if (http.GetEndpoint()?.Metadata.GetMetadata<RateLimitMetadata>()?.Kind is not { } limited || limited == RateLimited.EventStreams && !perKey)
        {
            return RateLimitPartition.GetNoLimiter((string.Empty, RateLimited.Suggestions));
        }

        if (ApiKeyFilter.Authenticate(http, http.RequestServices.GetRequiredService<TenantRegistry>()) is not { } caller)
        {
            return RateLimitPartition.GetNoLimiter((string.Empty, limited));
        }

        var options = http.RequestServices.GetRequiredService<IOptions<RateLimitOptions>>().Value;
        var partition = (perKey ? $"key:{caller.TenantId}:{caller.KeyId}" : $"tenant:{caller.TenantId}", limited);
        return limited switch
        {
            RateLimited.EventStreams => RateLimitPartition.GetConcurrencyLimiter(partition, _ => new ConcurrencyLimiterOptions { PermitLimit = options.EventStreamsPerKey, QueueLimit = 0 }),
            RateLimited.Suggestions => Bucket(partition, perKey ? options.SuggestionsPerMinute : options.TenantSuggestionsPerMinute),
            RateLimited.Replies => Bucket(partition, perKey ? options.RepliesPerMinute : options.TenantRepliesPerMinute),
            _ => Bucket(partition, perKey ? options.AsksPerMinute : options.TenantAsksPerMinute),
        };
    }

    private static RateLimitPartition<(string, RateLimited)> Bucket((string, RateLimited) partition, int perMinute) =>
        RateLimitPartition.GetTokenBucketLimiter(partition, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = Math.Max(1, perMinute / 10),
            TokensPerPeriod = 1,
            ReplenishmentPeriod = TimeSpan.FromMinutes(1) / perMinute,
            QueueLimit = 0,
            AutoReplenishment = true,
        });
}
