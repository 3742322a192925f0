using CustomerGrains.Gateway.Mediation;
using CustomerGrains.Gateway.Tenants;
using CustomerGrains.Grains;
using MediatR;

namespace CustomerGrains.Gateway.Customers;

/// <summary>Finds the customer an API path names: our own id (<c>cus_...</c>) or an external identity
/// <c>{provider}:{externalId}</c> (<c>chatwoot@cw1:42</c>, <c>zendesk@zd1:1234</c>, <c>email:ann@example.com</c>),
/// always within the caller's tenant, so another tenant's customers are simply not found. A provider's name alone
/// (<c>chatwoot:42</c>) names the contact of the tenant's one connection of that provider. One per request: it keeps
/// the customer it found, which the audit records instead of the path (a path may name the customer by email).</summary>
public sealed class CustomerResolver(IGrainFactory grains, TenantRegistry tenants)
{
    /// <summary>The id of the customer this request found, once it has found one.</summary>
    public string? Resolved { get; private set; }

    public ExternalIdentity Parse(string tenantId, string id)
    {
        var colon = id.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || colon == id.Length - 1)
        {
            return new ExternalIdentity("id", id);
        }

        var (provider, externalId) = (id[..colon], id[(colon + 1)..]);
        if (!Providers.All.Contains(provider) || tenants.ConnectionsOf(tenantId, provider) is not { Count: > 0 } connections)
        {
            return new ExternalIdentity(provider, externalId);
        }

        var namespaces = connections.Select(c => c.IdentityProvider).Distinct(StringComparer.Ordinal).ToList();
        return namespaces.Count == 1
            ? new ExternalIdentity(namespaces[0], externalId)
            : throw new ArgumentException(
                $"'{id}' could be a contact of any of the tenant's {provider} connections: name the one it belongs to, as {string.Join(" or ", namespaces.Select(n => $"'{n}:{externalId}'"))}.");
    }

    public async Task<ICustomerGrain> FindAsync(Caller caller, string id) =>
        await grains.GetGrain<ICustomerDirectoryGrain>(caller.TenantId).FindAsync(Parse(caller.TenantId, id)) is { } customerId
            ? Found(caller, customerId)
            : throw new NotFoundException($"No customer '{id}'.");

    private ICustomerGrain Found(Caller caller, string customerId)
    {
        Resolved = customerId;
        return grains.GetGrain<ICustomerGrain>(CustomerKey.Of(caller.TenantId, customerId));
    }

    /// <summary>For ingestion: an external identity nobody has yet names a new customer.</summary>
    public async Task<ICustomerGrain> FindOrCreateAsync(Caller caller, string id)
    {
        var identity = Parse(caller.TenantId, id);
        if (identity.Provider == "id")
        {
            return await FindAsync(caller, id);
        }

        return Found(caller, await grains.GetGrain<ICustomerDirectoryGrain>(caller.TenantId).ResolveOrCreateAsync([identity]));
    }
}

public sealed record GetCustomerContext(Caller Caller, string CustomerId) : IRequest<CustomerContext>;

public sealed class GetCustomerContextHandler(CustomerResolver customers) : IRequestHandler<GetCustomerContext, CustomerContext>
{
    public Task<CustomerContext> Handle(GetCustomerContext request, CancellationToken cancellationToken) =>
        SiloRetry.IdempotentAsync(async () => await (await customers.FindAsync(request.Caller, request.CustomerId)).GetContextAsync(), cancellationToken);
}

/// <summary>The body of <c>POST /v1/customers/{id}/interactions</c>.</summary>
/// <param name="EventId">Your id for the message: sending the same one twice stores it once.</param>
/// <param name="Direction">inbound (from the customer, the default) or outbound (to them).</param>
public sealed record InteractionInput(
    string? EventId,
    string? Text,
    string? Channel = null,
    string? Direction = null,
    DateTimeOffset? OccurredAt = null,
    string? ConversationId = null,
    double? Sentiment = null,
    CustomerFacts? Customer = null);

public sealed record IngestInteraction(Caller Caller, string CustomerId, InteractionInput Input) : IRequest<AppendResult>, IValidatedRequest, IAuditedRequest
{
    public string Action => "interaction.ingest";

    public string Target => CustomerId;

    public IEnumerable<(string Field, string Message)> Validate()
    {
        if (string.IsNullOrWhiteSpace(Input.EventId))
        {
            yield return ("eventId", "An event id is required; it makes a retried request store the message once.");
        }

        if (string.IsNullOrWhiteSpace(Input.Text))
        {
            yield return ("text", "The message text is required.");
        }

        foreach (var problem in RequestLimits.AtMost("text", Input.Text, RequestLimits.InteractionChars))
        {
            yield return problem;
        }

        if (Input.Direction is not (null or "inbound" or "outbound"))
        {
            yield return ("direction", "Direction is 'inbound' or 'outbound'.");
        }

        if (Input.Sentiment is < -1 or > 1)
        {
            yield return ("sentiment", "Sentiment is a number from -1 to 1.");
        }
    }
}

public sealed class IngestInteractionHandler(CustomerResolver customers, TimeProvider time) : IRequestHandler<IngestInteraction, AppendResult>
{
    public async Task<AppendResult> Handle(IngestInteraction request, CancellationToken cancellationToken)
    {
        // Resolving (or creating) the customer and appending by event id are both safe to repeat.
        return await SiloRetry.IdempotentAsync(() => AppendAsync(request), cancellationToken);
    }

    private async Task<AppendResult> AppendAsync(IngestInteraction request)
    {
        var input = request.Input;
        var customer = await customers.FindOrCreateAsync(request.Caller, request.CustomerId);
        var interaction = new Interaction(
            "api",
            input.EventId!,
            input.Channel ?? "api",
            input.Direction == "outbound" ? InteractionDirection.Outbound : InteractionDirection.Inbound,
            input.Text!,
            input.OccurredAt ?? time.GetUtcNow(),
            input.ConversationId,
            input.Sentiment);
        var identity = customers.Parse(request.Caller.TenantId, request.CustomerId);
        return await customer.AppendAsync(new AppendRequest(interaction, input.Customer ?? CustomerFacts.None, identity.Provider == "id" ? [] : [identity]));
    }
}

public sealed record UpdatePreferences(Caller Caller, string CustomerId, PreferencesPatch Patch) : IRequest<Preferences>, IValidatedRequest, IAuditedRequest
{
    public string Action => "preferences.update";

    public string Target => CustomerId;

    public IEnumerable<(string Field, string Message)> Validate()
    {
        if (Patch.Tone is { Length: > 100 })
        {
            yield return ("tone", "Tone is at most 100 characters.");
        }

        if (Patch.Topics is { Count: > 50 })
        {
            yield return ("topics", "At most 50 topics.");
        }
    }
}

public sealed class UpdatePreferencesHandler(CustomerResolver customers) : IRequestHandler<UpdatePreferences, Preferences>
{
    public async Task<Preferences> Handle(UpdatePreferences request, CancellationToken cancellationToken) =>
        await (await customers.FindAsync(request.Caller, request.CustomerId)).UpdatePreferencesAsync(request.Patch);
}

public sealed record EraseCustomer(Caller Caller, string CustomerId) : IRequest<bool>, IAuditedRequest
{
    public string Action => "customer.erase";

    public string Target => CustomerId;
}

/// <summary>Erases the customer (their grain erases everything it holds, in one transaction), then the audit log's
/// old rows that named them by an identity.</summary>
public sealed class EraseCustomerHandler(CustomerResolver customers, Mediation.AuditLog log) : IRequestHandler<EraseCustomer, bool>
{
    public async Task<bool> Handle(EraseCustomer request, CancellationToken cancellationToken)
    {
        var customer = await customers.FindAsync(request.Caller, request.CustomerId);
        var identities = (await customer.GetContextAsync()).Identities.Select(i => i.ToString()).ToList();
        var erased = await customer.EraseAsync();
        await log.ForgetAsync(request.Caller.TenantId, identities, cancellationToken);
        return erased;
    }
}

public sealed record ExportCustomer(Caller Caller, string CustomerId) : IRequest<CustomerExport>, IAuditedRequest
{
    public string Action => "customer.export";

    public string Target => CustomerId;
}

public sealed class ExportCustomerHandler(CustomerResolver customers) : IRequestHandler<ExportCustomer, CustomerExport>
{
    public async Task<CustomerExport> Handle(ExportCustomer request, CancellationToken cancellationToken) =>
        await (await customers.FindAsync(request.Caller, request.CustomerId)).ExportAsync();
}

/// <summary>The body of <c>POST /v1/customers/{id}/suggestions</c>.</summary>
public sealed record SuggestionInput(string? Message = null, int? Count = null, int? DeadlineMs = null)
{
    public IEnumerable<(string Field, string Message)> Validate() => RequestLimits.AtMost("message", Message, RequestLimits.MessageChars);

    /// <summary>The grain's request, with the defaults an agent gets when they leave a field out.</summary>
    public SuggestionRequest ToRequest(Caller caller) => new(Message, Count ?? 3, DeadlineMs ?? 1500, $"key:{caller.KeyId}");
}

public sealed record SuggestReplies(Caller Caller, string CustomerId, SuggestionInput Input) : IRequest<SuggestionResult>, IAuditedRequest, IValidatedRequest
{
    public string Action => "suggestions.create";

    public string Target => CustomerId;

    public IEnumerable<(string Field, string Message)> Validate() => Input.Validate();
}

public sealed class SuggestRepliesHandler(CustomerResolver customers) : IRequestHandler<SuggestReplies, SuggestionResult>
{
    public async Task<SuggestionResult> Handle(SuggestReplies request, CancellationToken cancellationToken)
    {
        var customer = await customers.FindAsync(request.Caller, request.CustomerId);
        return await customer.SuggestAsync(request.Input.ToRequest(request.Caller), cancellationToken);
    }
}

public sealed record StreamSuggestions(Caller Caller, string CustomerId, SuggestionInput Input) : IRequest<IAsyncEnumerable<SuggestionEvent>>, IAuditedRequest, IValidatedRequest
{
    public string Action => "suggestions.create";

    public string Target => CustomerId;

    public IEnumerable<(string Field, string Message)> Validate() => Input.Validate();
}

public sealed class StreamSuggestionsHandler(CustomerResolver customers) : IRequestHandler<StreamSuggestions, IAsyncEnumerable<SuggestionEvent>>
{
    public async Task<IAsyncEnumerable<SuggestionEvent>> Handle(StreamSuggestions request, CancellationToken cancellationToken)
    {
        var customer = await customers.FindAsync(request.Caller, request.CustomerId);
        return customer.StreamSuggestionsAsync(request.Input.ToRequest(request.Caller), cancellationToken);
    }
}

public sealed record RecordFeedback(Caller Caller, string SuggestionId, SuggestionFeedback Feedback) : IRequest<bool>, IValidatedRequest, IAuditedRequest
{
    public string Action => "suggestions.feedback";

    public string Target => SuggestionId;

    public IEnumerable<(string Field, string Message)> Validate()
    {
        if (Feedback.Outcome is not ("accepted" or "edited" or "rejected"))
        {
            yield return ("outcome", "The outcome is 'accepted', 'edited' or 'rejected'.");
        }

        if (Feedback.Reason is { Length: > 500 })
        {
            yield return ("reason", "The reason is at most 500 characters.");
        }

        foreach (var problem in RequestLimits.AtMost("finalText", Feedback.FinalText, RequestLimits.FinalTextChars))
        {
            yield return problem;
        }

        if (Feedback.Outcome == "edited" && string.IsNullOrWhiteSpace(Feedback.FinalText))
        {
            yield return ("finalText", "An edited suggestion needs the final text that was sent.");
        }
    }
}

/// <summary>Records what the agent did with a suggestion, once. Accepted and edited replies are found as past replies
/// by later suggestions for similar messages.</summary>
public sealed class RecordFeedbackHandler(IGrainFactory grains) : IRequestHandler<RecordFeedback, bool>
{
    public async Task<bool> Handle(RecordFeedback request, CancellationToken cancellationToken)
    {
        await grains.GetGrain<ISuggestionAuditGrain>(request.Caller.TenantId).RecordFeedbackAsync(request.SuggestionId, request.Feedback);
        return true;
    }
}
