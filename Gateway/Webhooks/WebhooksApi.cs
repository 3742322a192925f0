using System.Buffers;
using CustomerGrains.Gateway.Tenants;
using MediatR;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.AspNetCore.Routing;

namespace CustomerGrains.Gateway.Webhooks;

/// <summary>Where CRM webhooks enter: <c>POST /webhooks/{provider}/{connectionId}</c>.</summary>
public static class WebhooksApi
{
    /// <summary>Deliveries larger than this are refused with 413 (CRMs send a few KiB).</summary>
    public const int MaxBodyBytes = 1024 * 1024;

    public sealed record Accepted(int Events, int Stored);

    public static IEndpointRouteBuilder MapWebhooksApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/webhooks/{provider}/{connectionId}", ReceiveAsync)
            .WithTags("Webhooks")
            .WithSummary("Receives a CRM webhook (chatwoot, zendesk, intercom, hubspot, standard)")
            .Produces<Accepted>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge);
        return app;
    }

    private static async Task<IResult> ReceiveAsync(string provider, string connectionId, HttpContext http, IMediator mediator, TimeProvider time)
    {
        var body = await ReadBodyAsync(http.Request, http.RequestAborted);
        if (body is null)
        {
            return Results.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Payload too large",
                detail: $"Webhook bodies are limited to {MaxBodyBytes} bytes.");
        }

        var request = new WebhookRequest(http.Request.Headers, body, http.Request.Method, new Uri(http.Request.GetEncodedUrl()), time.GetUtcNow());
        var outcome = await mediator.Send(new ReceiveWebhook(provider, connectionId, request), http.RequestAborted);
        return outcome.Status == StatusCodes.Status200OK
            ? Results.Ok(new Accepted(outcome.Events, outcome.Stored))
            : Results.Problem(statusCode: outcome.Status, title: TitleOf(outcome.Status), detail: outcome.Problem);
    }

    /// <summary>The whole body, or null when it is over the limit (read no further than that).</summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > MaxBodyBytes)
        {
            return null;
        }

        var reader = request.BodyReader;
        while (true)
        {
            var read = await reader.ReadAsync(cancellationToken);
            if (read.Buffer.Length > MaxBodyBytes)
            {
                reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
                return null;
            }

            if (read.IsCompleted)
            {
                var body = read.Buffer.ToArray();
                reader.AdvanceTo(read.Buffer.End);
                return body;
            }

            reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
        }
    }

    private static string TitleOf(int status) => status switch
    {
        StatusCodes.Status400BadRequest => "Unreadable webhook payload",
        StatusCodes.Status401Unauthorized => "Webhook signature rejected",
        _ => "Webhook refused",
    };
}
