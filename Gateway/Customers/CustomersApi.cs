using CustomerGrains.Gateway.Tenants;
using CustomerGrains.Grains;
using System.Globalization;
using MediatR;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace CustomerGrains.Gateway.Customers;

/// <summary>
/// The agent API for one customer: <c>/v1/customers/{id}/...</c>, where id is our customer id or
/// <c>{provider}:{externalId}</c>. Authenticated by <c>Authorization: Bearer &lt;api key&gt;</c>; errors are Problem Details.
/// </summary>
public static class CustomersApi
{
    private static async IAsyncEnumerable<System.Net.ServerSentEvents.SseItem<SuggestionEvent>> Sse(SuggestionEvent? first, IAsyncEnumerator<SuggestionEvent> rest)
    {
        await using (rest)
        {
            if (first is null)
            {
                yield break;
            }

            yield return new(first, first.Type);
            while (await rest.MoveNextAsync())
            {
                yield return new(rest.Current, rest.Current.Type);
            }
        }
    }

    public static IEndpointRouteBuilder MapCustomersApi(this IEndpointRouteBuilder app)
    {
        var customers = app.MapGroup("/v1/customers/{id}")
            .WithTags("Customers")
            .AddEndpointFilter<ApiKeyFilter>()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status404NotFound);

        app.MapGet("/v1/customers", async Task<Ok<CustomerListPage>> (string? query, int? limit, string? cursor, HttpContext http, IMediator mediator) =>
                TypedResults.Ok(await mediator.Send(new ListCustomers(ApiKeyFilter.CallerOf(http), query, limit ?? 25, cursor), http.RequestAborted)))
            .WithTags("Customers")
            .AddEndpointFilter<ApiKeyFilter>()
            .RequireRoles(Roles.Agent, Roles.Senior, Roles.Admin)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .WithSummary("The tenant's customers, most recently active first; with query, those whose name, email, phone or external id contains it. " +
                         "Paged: limit (1 to 100, default 25), and the previous page's cursor");

        customers.MapGet("/interactions", async Task<Ok<ConversationPage>> (string id, string? before, int? limit, HttpContext http, IMediator mediator) =>
                TypedResults.Ok(await mediator.Send(new GetConversation(ApiKeyFilter.CallerOf(http), id, before, limit ?? 50), http.RequestAborted)))
            .RequireRoles(Roles.Agent, Roles.Senior, Roles.Admin)
            .ProducesValidationProblem()
            .WithSummary("The conversation, newest first: limit (1 to 200, default 50) interactions, older ones with the page's 'before'");

        customers.MapGet("/events", async Task (string id, long? after, HttpContext http, CustomerResolver resolver, IClusterClient client) =>
            {
                // Found before the stream starts: an unknown customer gets its 404 and Problem Details.
                var customer = await resolver.FindAsync(ApiKeyFilter.CallerOf(http), id);
                var from = long.TryParse(http.Request.Headers["Last-Event-ID"].ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var last) ? last : after;
                await CustomerEvents.WriteAsync(http, client, customer, from);
            })
            .RequireRoles(Roles.Agent, Roles.Senior, Roles.Admin)
            .LimitRate(RateLimited.EventStreams)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .Produces<StoredInteraction>(contentType: "text/event-stream")
            .WithSummary("New interactions as they are stored, as server-sent events ('interaction', id: the sequence number). " +
                         "Reconnecting with Last-Event-ID (or after=seq) first sends what was missed");

        customers.MapGet("/context", async Task<Ok<CustomerContext>> (string id, HttpContext http, IMediator mediator) =>
                TypedResults.Ok(await mediator.Send(new GetCustomerContext(ApiKeyFilter.CallerOf(http), id), http.RequestAborted)))
            .RequireRoles(Roles.Agent, Roles.Senior, Roles.Admin)
            .WithSummary("Everything a reply generator needs about the customer");

        customers.MapPost("/interactions", async Task<Ok<AppendResult>> (string id, InteractionInput input, HttpContext http, IMediator mediator) =>
                TypedResults.Ok(await mediator.Send(new IngestInteraction(ApiKeyFilter.CallerOf(http), id, input), http.RequestAborted)))
            .RequireRoles(Roles.Agent, Roles.Senior, Roles.Admin)
            .ProducesValidationProblem()
            .WithSummary("Stores an interaction directly (idempotent by eventId)");

        customers.MapPatch("/preferences", async Task<Ok<Preferences>> (string id, PreferencesPatch patch, HttpContext http, IMediator mediator) =>
                TypedResults.Ok(await mediator.Send(new UpdatePreferences(ApiKeyFilter.CallerOf(http), id, patch), http.RequestAborted)))
            .RequireRoles(Roles.Agent, Roles.Senior, Roles.Admin)
            .ProducesValidationProblem()
            .WithSummary("Changes the given preferences; the others stay");

        customers.MapDelete("", async Task<NoContent> (string id, HttpContext http, IMediator mediator) =>
            {
                await mediator.Send(new EraseCustomer(ApiKeyFilter.CallerOf(http), id), http.RequestAborted);
                return TypedResults.NoContent();
            })
            .RequireRoles(Roles.Admin)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .WithSummary("Right to be forgotten: erases history, identities, profile and inbox payloads");

        customers.MapGet("/export", async Task<Ok<CustomerExport>> (string id, HttpContext http, IMediator mediator) =>
                TypedResults.Ok(await mediator.Send(new ExportCustomer(ApiKeyFilter.CallerOf(http), id), http.RequestAborted)))
            .RequireRoles(Roles.Admin)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .WithSummary("Everything stored about the customer, as JSON");

        customers.MapPost("/suggestions", async Task<IResult> (string id, SuggestionInput? input, HttpContext http, IMediator mediator) =>
            {
                var caller = ApiKeyFilter.CallerOf(http);
                if (!http.Request.GetTypedHeaders().Accept.Any(accept => accept.MediaType.Equals("text/event-stream", StringComparison.OrdinalIgnoreCase)))
                {
                    return TypedResults.Ok(await mediator.Send(new SuggestReplies(caller, id, input ?? new SuggestionInput()), http.RequestAborted));
                }

                // Server-sent events. The first event is awaited here, so that an unknown customer or an invalid request
                // still gets its status and Problem Details before the stream starts.
                var events = await mediator.Send(new StreamSuggestions(caller, id, input ?? new SuggestionInput()), http.RequestAborted);
                var reader = events.GetAsyncEnumerator(http.RequestAborted);
                var first = await reader.MoveNextAsync() ? reader.Current : null;
                return TypedResults.ServerSentEvents(Sse(first, reader));
            })
            .RequireRoles(Roles.Agent, Roles.Senior, Roles.Admin)
            .LimitRate(RateLimited.Suggestions)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .Produces<SuggestionResult>().Produces<SuggestionEvent>(contentType: "text/event-stream")
            .WithSummary("Reply suggestions grounded in the knowledge base and past accepted replies; retrieval-only (degraded) when the model cannot answer in time. " +
                         "With Accept: text/event-stream, as they are made: the retrieved answers at once, drafts as the model writes them, then the final record");

        customers.MapPost("/replies", async Task<Accepted<Replies.ReplyView>> (string id, Replies.ReplyInput input, HttpContext http, IMediator mediator) =>
            {
                var key = http.Request.Headers["Idempotency-Key"].ToString();
                var (reply, customerId) = await mediator.Send(new Replies.SendReply(ApiKeyFilter.CallerOf(http), id, input, key.Length == 0 ? null : key), http.RequestAborted);
                return TypedResults.Accepted($"/v1/customers/{customerId}/replies/{reply.ReplyId}", reply);
            })
            .RequireRoles(Roles.Agent, Roles.Senior, Roles.Admin)
            .LimitRate(RateLimited.Replies)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .WithSummary("Sends a reply (or, with private, a note) into the CRM conversation the customer is in: written to the outbox, then delivered with retries. " +
                         "The Idempotency-Key header makes a retried request send once");

        customers.MapGet("/replies/{replyId}", async Task<Ok<Replies.ReplyView>> (string id, string replyId, HttpContext http, IMediator mediator) =>
                TypedResults.Ok(await mediator.Send(new Replies.GetReply(ApiKeyFilter.CallerOf(http), id, replyId), http.RequestAborted)))
            .RequireRoles(Roles.Agent, Roles.Senior, Roles.Admin)
            .WithSummary("A reply's delivery: queued, sent (with the CRM's message id) or failed (with why)");

        app.MapGet("/v1/reports/suggestions", async Task<Ok<Replies.SuggestionReport>> (DateTimeOffset? from, DateTimeOffset? to, HttpContext http, IMediator mediator, TimeProvider time) =>
                TypedResults.Ok(await mediator.Send(new Replies.GetSuggestionReport(ApiKeyFilter.CallerOf(http), from, to, time.GetUtcNow()), http.RequestAborted)))
            .WithTags("Reports")
            .AddEndpointFilter<ApiKeyFilter>()
            .RequireRoles(Roles.Admin)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .WithSummary("How agents use suggestions, from what they sent (default: the last 30 days): per tenant and per agent, the share of replies " +
                         "sent from a suggestion as it was, edited (with the mean share of words changed), or written without one");

        app.MapPost("/v1/suggestions/{suggestionId}/feedback", async (string suggestionId, SuggestionFeedback feedback, HttpContext http, IMediator mediator) =>
            {
                await mediator.Send(new RecordFeedback(ApiKeyFilter.CallerOf(http), suggestionId, feedback), http.RequestAborted);
                return Results.NoContent();
            })
            .WithTags("Customers")
            .AddEndpointFilter<ApiKeyFilter>()
            .RequireRoles(Roles.Agent, Roles.Senior, Roles.Admin)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("What the agent did with a suggestion: accepted, edited (with finalText) or rejected");
        return app;
    }
}
