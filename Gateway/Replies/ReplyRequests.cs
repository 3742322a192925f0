using CustomerGrains.Gateway.Customers;
using CustomerGrains.Gateway.Mediation;
using CustomerGrains.Gateway.Tenants;
using CustomerGrains.Grains;
using MediatR;

namespace CustomerGrains.Gateway.Replies;

/// <summary>The body of <c>POST /v1/customers/{id}/replies</c>.</summary>
/// <param name="ConversationId">The CRM conversation to reply in; default: the one the customer was last in.</param>
/// <param name="SuggestionId">The suggestion the reply came from: its audit records the text sent (accepted as it
/// was, or edited).</param>
/// <param name="Private">An internal note on the conversation instead of a reply to the customer.</param>
public sealed record ReplyInput(string? Text, string? ConversationId = null, string? SuggestionId = null, bool Private = false);

/// <summary>A reply as the agent sees it: where it went, and how its delivery stands.</summary>
/// <param name="MessageId">The CRM's id of the message, once sent.</param>
/// <param name="Error">Why the last attempt did not go through (why it failed, when it did).</param>
public sealed record ReplyView(
    string ReplyId, ReplyStatus Status, string Provider, string ConnectionId, string ConversationId, bool Private, string? SuggestionId,
    int Attempts, string? MessageId, string? Error, DateTimeOffset CreatedAt, DateTimeOffset? SentAt)
{
    public static ReplyView Of(OutboxReply reply) => new(
        reply.ReplyId, reply.Status, reply.Provider, reply.ConnectionId, reply.ConversationId, reply.Private, reply.SuggestionId,
        reply.Attempts, reply.MessageId, reply.LastError, reply.CreatedAt, reply.SentAt);
}

public sealed record SendReply(Caller Caller, string CustomerId, ReplyInput Input, string? IdempotencyKey)
    : IRequest<(ReplyView Reply, string CustomerId)>, IValidatedRequest, IAuditedRequest
{
    public string Action => "reply.send";

    public string Target => CustomerId;

    public IEnumerable<(string Field, string Message)> Validate()
    {
        if (string.IsNullOrWhiteSpace(IdempotencyKey) || IdempotencyKey.Length > 200)
        {
            yield return ("Idempotency-Key", "Send an Idempotency-Key header (up to 200 characters): the same key never sends twice.");
        }

        if (string.IsNullOrWhiteSpace(Input.Text))
        {
            yield return ("text", "The reply's text is required.");
        }

        foreach (var problem in RequestLimits.AtMost("text", Input.Text, RequestLimits.FinalTextChars))
        {
            yield return problem;
        }
    }
}

/// <summary>
/// Writes the reply to the outbox (the 202 answers only once it is committed) for the conversation the customer is in,
/// and wakes the dispatcher. Refused with the reason: a customer who asked not to be contacted (a private note
/// still goes), a conversation the customer is not in, a connection without what its CRM's API needs.
/// </summary>
public sealed class SendReplyHandler(CustomerResolver customers, ReplyStore store, ReplyDispatcher dispatcher, TenantRegistry tenants, IEnumerable<IReplySender> senders)
    : IRequestHandler<SendReply, (ReplyView Reply, string CustomerId)>
{
    public async Task<(ReplyView Reply, string CustomerId)> Handle(SendReply request, CancellationToken cancellationToken)
    {
        var caller = request.Caller;
        var input = request.Input;
        var customer = await customers.FindAsync(caller, request.CustomerId);
        var customerId = customers.Resolved!;
        if (!input.Private && (await customer.GetContextAsync()).Preferences.DoNotContact)
        {
            throw new ConflictException("The customer asked not to be contacted (preferences: doNotContact); only a private note can be added.");
        }

        var conversation = await store.ConversationAsync(caller.TenantId, customerId, input.ConversationId, cancellationToken)
            ?? throw new ConflictException(input.ConversationId is { } named
                ? $"The customer is not in conversation '{named}'."
                : "The customer is in no CRM conversation yet: nothing they wrote or were written came through a connection.");
        var source = conversation.Source.Split(':', 2); // {provider}:{connection}, as webhooks store it
        var (provider, connectionId) = (source[0], source[1]);
        if (!tenants.TryGetConnection(provider, connectionId, out var connection) || connection.TenantId != caller.TenantId)
        {
            throw new ConflictException($"The conversation came through connection '{connectionId}', which is no longer configured.");
        }

        if (senders.First(s => s.Provider == provider).Missing(connection) is { Count: > 0 } missing)
        {
            throw new ConflictException($"Connection '{connectionId}' cannot send replies into {provider}: set {string.Join(", ", missing.Select(m => $"Tenants:{caller.TenantId}:Connections:{connectionId}:{m}"))}.");
        }

        var (reply, written) = await store.AddAsync(
            new OutboxReply(caller.TenantId, "rp_" + Guid.NewGuid().ToString("N")[..20], customerId, provider, connectionId, conversation.ConversationId, conversation.Channel,
                input.Text!.Trim(), input.Private, input.SuggestionId, $"key:{caller.KeyId}", ReplyStatus.Queued, 0, null, null, default, null),
            request.IdempotencyKey!, cancellationToken);
        if (reply.CustomerId != customerId)
        {
            throw new ConflictException("This Idempotency-Key was used for a reply to another customer.");
        }

        if (written)
        {
            dispatcher.Wake();
        }

        return (ReplyView.Of(reply), customerId);
    }
}

public sealed record GetReply(Caller Caller, string CustomerId, string ReplyId) : IRequest<ReplyView>;

public sealed class GetReplyHandler(CustomerResolver customers, ReplyStore store) : IRequestHandler<GetReply, ReplyView>
{
    public async Task<ReplyView> Handle(GetReply request, CancellationToken cancellationToken)
    {
        await customers.FindAsync(request.Caller, request.CustomerId);
        return await store.GetAsync(request.Caller.TenantId, customers.Resolved!, request.ReplyId, cancellationToken) is { } reply
            ? ReplyView.Of(reply)
            : throw new NotFoundException($"No reply '{request.ReplyId}' to this customer.");
    }
}
