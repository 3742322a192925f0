using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Metadata;

namespace CustomerGrains.Gateway;

/// <summary>
/// How much the agent API takes in one request: bodies past <see cref="BodyBytes"/> get 413 (Kestrel stops reading
/// there), text fields past their cap a Problem Details 400 naming the field. A 28 MB message would otherwise be
/// masked, searched, prompted and stored whole.
/// </summary>
public static class RequestLimits
{
    /// <summary>A request body of the agent API (<c>/v1</c>).</summary>
    public const int BodyBytes = 1024 * 1024;

    /// <summary>A knowledge-base import's body.</summary>
    public const int ImportBodyBytes = 16 * 1024 * 1024;

    /// <summary>A message to answer, or a question to ask: what an agent types or pastes.</summary>
    public const int MessageChars = 4_000;

    /// <summary>An interaction's text (an email with its quoted history fits).</summary>
    public const int InteractionChars = 65_536;

    /// <summary>The text an agent finally sent.</summary>
    public const int FinalTextChars = 8_000;

    /// <summary>Sets each <c>/v1</c> request's body limit: the endpoint's own (<see cref="IRequestSizeLimitMetadata"/>)
    /// or <see cref="BodyBytes"/>.</summary>
    public static WebApplication UseRequestLimits(this WebApplication app)
    {
        app.Use((http, next) =>
        {
            if (http.Request.Path.StartsWithSegments("/v1") && http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            {
                limit.MaxRequestBodySize = http.GetEndpoint()?.Metadata.GetMetadata<IRequestSizeLimitMetadata>()?.MaxRequestBodySize ?? BodyBytes;
            }

            return next(http);
        });
        return app;
    }

    /// <summary>Lets the endpoint's requests carry up to <paramref name="bytes"/>.</summary>
    public static TBuilder AllowBody<TBuilder>(this TBuilder builder, long bytes)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new BodyLimit(bytes));

    /// <summary>The problem with <paramref name="text"/> in <paramref name="field"/> when it is over <paramref name="max"/>.</summary>
    public static IEnumerable<(string Field, string Message)> AtMost(string field, string? text, int max)
    {
        if (text is { Length: var length } && length > max)
        {
            yield return (field, $"'{field}' is at most {max} characters, not {length}.");
        }
    }

    private sealed record BodyLimit(long? MaxRequestBodySize) : IRequestSizeLimitMetadata;
}
