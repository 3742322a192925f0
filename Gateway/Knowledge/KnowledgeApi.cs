using CustomerGrains.Gateway.Tenants;
using CustomerGrains.Grains;
using MediatR;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace CustomerGrains.Gateway.Knowledge;

/// <summary>
/// The knowledge base and the employee question flow: <c>/v1/kb/...</c>. Ask, escalate and read: agents, seniors,
/// admins. Write entries and answer escalations: seniors and admins.
/// </summary>
public static class KnowledgeApi
{
    private static readonly string[] Everyone = [Roles.Agent, Roles.Senior, Roles.Admin];
    private static readonly string[] Seniors = [Roles.Senior, Roles.Admin];

    public static IEndpointRouteBuilder MapKnowledgeApi(this IEndpointRouteBuilder app)
    {
        var kb = app.MapGroup("/v1/kb").WithTags("Knowledge base").AddEndpointFilter<ApiKeyFilter>()
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden);

        kb.MapPost("/entries", async (KbEntryInput input, HttpContext http, IMediator m) =>
            Created(await m.Send(new CreateEntry(ApiKeyFilter.CallerOf(http), input), http.RequestAborted)))
            .RequireRoles(Seniors).Produces<KbEntry>(StatusCodes.Status201Created).ProducesValidationProblem();
        kb.MapGet("/entries/{entryId}", async (string entryId, HttpContext http, IMediator m) =>
            Results.Ok(await m.Send(new GetEntry(ApiKeyFilter.CallerOf(http), entryId), http.RequestAborted)))
            .RequireRoles(Everyone).Produces<KbEntry>().ProducesProblem(StatusCodes.Status404NotFound);
        kb.MapPut("/entries/{entryId}", async (string entryId, KbEntryInput input, HttpContext http, IMediator m) =>
            Results.Ok(await m.Send(new UpdateEntry(ApiKeyFilter.CallerOf(http), entryId, input), http.RequestAborted)))
            .RequireRoles(Seniors).Produces<KbEntry>().ProducesProblem(StatusCodes.Status404NotFound);
        kb.MapDelete("/entries/{entryId}", async (string entryId, HttpContext http, IMediator m) =>
            {
                await m.Send(new DeleteEntry(ApiKeyFilter.CallerOf(http), entryId), http.RequestAborted);
                return Results.NoContent();
            })
            .RequireRoles(Seniors).ProducesProblem(StatusCodes.Status404NotFound);
        kb.MapPost("/import", async (List<KbEntryInput> entries, HttpContext http, IMediator m) =>
            Results.Ok(new { imported = await m.Send(new ImportEntries(ApiKeyFilter.CallerOf(http), entries), http.RequestAborted) }))
            .RequireRoles(Seniors).AllowBody(RequestLimits.ImportBodyBytes).ProducesValidationProblem().ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .WithSummary("Adds entries in one transaction: all, or none when one is invalid (a body of up to 16 MiB)");
        kb.MapGet("/export", async (HttpContext http, IMediator m) =>
            Results.Ok(await m.Send(new ExportEntries(ApiKeyFilter.CallerOf(http)), http.RequestAborted)))
            .RequireRoles(Seniors).Produces<IReadOnlyList<KbEntry>>();

        kb.MapPost("/ask", async (AskInput input, HttpContext http, IMediator m) =>
            Results.Ok(await m.Send(new Ask(ApiKeyFilter.CallerOf(http), input), http.RequestAborted)))
            .RequireRoles(Everyone).LimitRate(RateLimited.Asks).ProducesProblem(StatusCodes.Status429TooManyRequests).Produces<AskResult>().ProducesValidationProblem()
            .WithSummary("The best answer with 3 related questions when confident, else the 5 most similar questions");
        kb.MapGet("/questions", async (string? status, bool? mine, HttpContext http, IMediator m) =>
            Results.Ok(await m.Send(new ListQuestions(ApiKeyFilter.CallerOf(http), status, mine ?? false), http.RequestAborted)))
            .RequireRoles(Everyone).Produces<IReadOnlyList<KbQuestion>>()
            .WithSummary("Questions by status: Unanswered, AwaitingSenior, AddedToKb, Faq; mine=true: only those the caller's key asked");
        kb.MapGet("/questions/{questionId}", async (string questionId, HttpContext http, IMediator m) =>
            Results.Ok(await m.Send(new GetQuestion(ApiKeyFilter.CallerOf(http), questionId), http.RequestAborted)))
            .RequireRoles(Everyone).Produces<KbQuestion>().ProducesProblem(StatusCodes.Status404NotFound);
        kb.MapPost("/questions/{questionId}/escalate", async (string questionId, HttpContext http, IMediator m) =>
            Results.Ok(await m.Send(new Escalate(ApiKeyFilter.CallerOf(http), questionId), http.RequestAborted)))
            .RequireRoles(Everyone).Produces<KbQuestion>().ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("None of these: sends the question to seniors");
        kb.MapPost("/questions/{questionId}/pick", async (string questionId, PickInput input, HttpContext http, IMediator m) =>
            Results.Ok(await m.Send(new PickSimilar(ApiKeyFilter.CallerOf(http), questionId, input), http.RequestAborted)))
            .RequireRoles(Everyone).Produces<KbQuestion>().ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("The asker picked one of the similar questions: it answers theirs, and their wording becomes the entry's alias");
        kb.MapPost("/questions/{questionId}/answer", async (string questionId, AnswerInput input, HttpContext http, IMediator m) =>
            Results.Ok(await m.Send(new AnswerQuestion(ApiKeyFilter.CallerOf(http), questionId, input), http.RequestAborted)))
            .RequireRoles(Seniors).Produces<KbQuestion>().ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("A senior's answer: it joins the knowledge base at once");

        app.MapPost("/v1/suggestions/{suggestionId}/promote", async (string suggestionId, KbEntryInput? changes, HttpContext http, IMediator m) =>
                Created(await m.Send(new PromoteReply(ApiKeyFilter.CallerOf(http), suggestionId, changes ?? new KbEntryInput(null, null)), http.RequestAborted)))
            .WithTags("Knowledge base").AddEndpointFilter<ApiKeyFilter>()
            .RequireRoles(Seniors).Produces<KbEntry>(StatusCodes.Status201Created).ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("An accepted or edited reply suggestion becomes a knowledge-base entry (personal data masked)");
        return app;
    }

    private static IResult Created(KbEntry entry) => Results.Created($"/v1/kb/entries/{entry.EntryId}", entry);
}
