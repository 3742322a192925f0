using CustomerGrains.Gateway.Inbox;
using CustomerGrains.Gateway.Tenants;
using MediatR;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace CustomerGrains.Gateway.Webhooks;

/// <summary>A CRM delivery to <c>POST /webhooks/{provider}/{connectionId}</c>, its body read whole.</summary>
public sealed record ReceiveWebhook(string Provider, string ConnectionId, WebhookRequest Request) : IRequest<WebhookOutcome>;

/// <summary>How a delivery ended: stored (and how many events were new), or refused with a status and reason.</summary>
public sealed record WebhookOutcome(int Status, string? Problem = null, int Events = 0, int Stored = 0);

/// <summary>
/// Verify the signature over the raw body, map the payload, write the events to the inbox in one transaction,
/// and only then acknowledge; delivery to the customer grains follows, after the answer.
/// </summary>
public sealed class ReceiveWebhookHandler(
    TenantRegistry tenants,
    IEnumerable<IWebhookProvider> providers,
    InboxStore inbox,
    InboxDispatcher dispatcher,
    ILogger<ReceiveWebhookHandler> logger) : IRequestHandler<ReceiveWebhook, WebhookOutcome>
{
    /// <summary>What a delivery that is not verified is told, whatever the reason.</summary>
    public const string Unverified = "The delivery was not verified: check the webhook URL, the signing secret configured for it, and the sender's clock.";

    public async Task<WebhookOutcome> Handle(ReceiveWebhook request, CancellationToken cancellationToken)
    {
        // An unknown connection and a delivery that does not verify are answered alike, so that nobody can tell the
        // connection ids that exist; the operator's log says which it was.
        var provider = providers.FirstOrDefault(p => p.Name == request.Provider);
        if (provider is null || !tenants.TryGetConnection(request.Provider, request.ConnectionId, out var connection))
        {
            // A provider the path names but nobody configured is "unknown": the path must not mint metric labels.
            Log.WebhookRejected(logger, provider?.Name ?? "unknown", "-", "no such connection is configured");
            GatewayTelemetry.WebhooksRejected.Add(1, new("provider", provider?.Name ?? "unknown"), new("reason", "unknown-connection"));
            return new WebhookOutcome(StatusCodes.Status401Unauthorized, Unverified);
        }

        if (provider.Verify(request.Request, connection) is { } rejected)
        {
            Log.WebhookRejected(logger, request.Provider, request.ConnectionId, rejected.Reason);
            GatewayTelemetry.WebhooksRejected.Add(1, new("provider", request.Provider), new("reason", rejected.Stale ? "stale" : "signature"));
            return new WebhookOutcome(StatusCodes.Status401Unauthorized, Unverified);
        }

        IReadOnlyList<InboxEvent> events;
        InboxRow[] stored;
        try
        {
            events = provider.Map(request.Request, connection);
            stored = await inbox.WriteAsync(connection, events, cancellationToken);
        }
        catch (WebhookPayloadException ex)
        {
            // Unmappable, or data PostgreSQL refuses: the CRM's retries would fail the same way.
            GatewayTelemetry.WebhooksRejected.Add(1, new("provider", request.Provider), new("reason", "payload"));
            return new WebhookOutcome(StatusCodes.Status400BadRequest, ex.Message);
        }

        dispatcher.Enqueue(stored); // after the commit: delivery follows the answer, it never delays it
        Log.WebhookStored(logger, stored.Length, events.Count, request.Provider, request.ConnectionId);
        GatewayTelemetry.WebhooksAcknowledged.Add(1, new KeyValuePair<string, object?>("provider", request.Provider));
        return new WebhookOutcome(StatusCodes.Status200OK, Events: events.Count, Stored: stored.Length);
    }
}
