using CustomerGrains.Gateway.Mediation;
using CustomerGrains.Gateway.Replies;
using CustomerGrains.Gateway.Tenants;
using CustomerGrains.Grains;
using MediatR;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace CustomerGrains.Gateway.History;

/// <summary>The body of <c>POST /v1/connections/{id}/import</c>.</summary>
/// <param name="Since">Read conversations active since, and messages written since, this time. Leave it out to resume
/// the connection's failed import from where it stopped.</param>
public sealed record ImportInput(DateTimeOffset? Since);

/// <summary>A tenant's connection as its admin sees it: what it can do and how its history runs stand.</summary>
/// <param name="MissingForReplies">Options to set before replies can be sent through it; empty when it can.</param>
/// <param name="MissingForImport">Options to set before its history can be read; null where its CRM has no history API.</param>
/// <param name="ReconcileEvery">How often its recent conversations are re-read; null when that is off.</param>
public sealed record ConnectionView(
    string Id, string Provider, IReadOnlyList<string> MissingForReplies, IReadOnlyList<string>? MissingForImport, TimeSpan? ReconcileEvery,
    HistoryRun? Import, HistoryRun? Reconciliation);

public sealed record ListConnections(Caller Caller) : IRequest<IReadOnlyList<ConnectionView>>;

public sealed record GetImport(Caller Caller, string ConnectionId) : IRequest<HistoryRun>;

public sealed record StartImport(Caller Caller, string ConnectionId, ImportInput Input, DateTimeOffset Now) : IRequest<HistoryRun>, IValidatedRequest, IAuditedRequest
{
    public string Action => "history.import";

    public string Target => ConnectionId;

    public IEnumerable<(string Field, string Message)> Validate()
    {
        if (Input.Since is { } since && since >= Now)
        {
            yield return ("since", "'since' must be in the past: the import reads what was written from then until now.");
        }
    }
}

public sealed class ConnectionHandlers(TenantRegistry tenants, HistoryStore store, HistoryImporter importer, IEnumerable<IReplySender> senders) :
    IRequestHandler<ListConnections, IReadOnlyList<ConnectionView>>, IRequestHandler<GetImport, HistoryRun>, IRequestHandler<StartImport, HistoryRun>
{
    public async Task<IReadOnlyList<ConnectionView>> Handle(ListConnections request, CancellationToken cancellationToken)
    {
        var views = new List<ConnectionView>();
        foreach (var connection in tenants.Connections.Where(c => c.TenantId == request.Caller.TenantId).OrderBy(c => c.Id, StringComparer.Ordinal))
        {
            var runs = await store.GetAsync(connection.TenantId, connection.Id, cancellationToken);
            views.Add(new ConnectionView(
                connection.Id, connection.Provider, senders.First(s => s.Provider == connection.Provider).Missing(connection), importer.ReaderOf(connection)?.Missing(connection),
                HistoryImporter.ReconcileEvery(connection), runs.FirstOrDefault(r => r.Kind == HistoryKind.Import), runs.FirstOrDefault(r => r.Kind == HistoryKind.Reconcile)));
        }

        return views;
    }

    public async Task<HistoryRun> Handle(GetImport request, CancellationToken cancellationToken)
    {
        var connection = ConnectionOf(request.Caller, request.ConnectionId);
        return (await store.GetAsync(connection.TenantId, connection.Id, cancellationToken)).FirstOrDefault(r => r.Kind == HistoryKind.Import)
            ?? throw new NotFoundException($"Connection '{connection.Id}' has not imported its history yet: POST to this path with {{\"since\": ...}} to start.");
    }

    public async Task<HistoryRun> Handle(StartImport request, CancellationToken cancellationToken)
    {
        var connection = ConnectionOf(request.Caller, request.ConnectionId);
        var reader = importer.ReaderOf(connection)
            ?? throw new ConflictException($"{connection.Provider} connections have no history API to read: a custom CRM posts its past messages to POST /v1/customers/{{id}}/interactions.");
        if (reader.Missing(connection) is { Count: > 0 } missing)
        {
            throw new ConflictException($"Connection '{connection.Id}' cannot read {connection.Provider}'s history: set {string.Join(", ", missing.Select(m => $"Tenants:{connection.TenantId}:Connections:{connection.Id}:{m}"))}.");
        }

        HistoryRun run;
        if (request.Input.Since is not { } since)
        {
            run = await store.ResumeImportAsync(connection, cancellationToken)
                ?? throw new RequestValidationException(new Dictionary<string, string[]> { ["since"] = ["'since' is required: only a failed import can be resumed without it."] });
        }
        else
        {
            (run, var started) = await store.StartImportAsync(connection, since, $"key:{request.Caller.KeyId}", cancellationToken);
            if (!started)
            {
                throw new ConflictException($"An import of connection '{connection.Id}' is running (since {run.Since:O}, {run.Messages} messages read so far); wait for it to end.");
            }
        }

        importer.Wake();
        return run;
    }

    /// <summary>The caller's tenant's connection; an unknown id and another tenant's are alike not found.</summary>
    private Connection ConnectionOf(Caller caller, string connectionId) =>
        tenants.TryGetConnection(connectionId, out var connection) && connection.TenantId == caller.TenantId
            ? connection
            : throw new NotFoundException($"No connection '{connectionId}'.");
}

/// <summary><c>/v1/connections</c>: the tenant's CRM connections, their history imports and reconciliation (admins).</summary>
public static class ConnectionsApi
{
    public static IEndpointRouteBuilder MapConnectionsApi(this IEndpointRouteBuilder app)
    {
        var connections = app.MapGroup("/v1/connections").WithTags("Connections").AddEndpointFilter<ApiKeyFilter>()
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden);

        connections.MapGet("", async Task<Ok<IReadOnlyList<ConnectionView>>> (HttpContext http, IMediator mediator) =>
                TypedResults.Ok(await mediator.Send(new ListConnections(ApiKeyFilter.CallerOf(http)), http.RequestAborted)))
            .RequireRoles(Roles.Admin)
            .WithSummary("The tenant's connections: what each needs before it can send replies or read history, and its import and reconciliation");

        connections.MapPost("/{id}/import", async Task<Accepted<HistoryRun>> (string id, ImportInput input, HttpContext http, IMediator mediator, TimeProvider time) =>
                TypedResults.Accepted($"/v1/connections/{id}/import", await mediator.Send(new StartImport(ApiKeyFilter.CallerOf(http), id, input, time.GetUtcNow()), http.RequestAborted)))
            .RequireRoles(Roles.Admin)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("Imports the connection's past conversations since a date through the CRM's API, both sides, in the background; " +
                         "without since, resumes a failed import where it stopped. Running it again stores nothing twice");

        connections.MapGet("/{id}/import", async Task<Ok<HistoryRun>> (string id, HttpContext http, IMediator mediator) =>
                TypedResults.Ok(await mediator.Send(new GetImport(ApiKeyFilter.CallerOf(http), id), http.RequestAborted)))
            .RequireRoles(Roles.Admin)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("The import's progress: conversations and messages read, how many were new, requests and 429s, and where it stands");
        return app;
    }
}
