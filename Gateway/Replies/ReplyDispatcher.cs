using CustomerGrains.Gateway.Crm;
using CustomerGrains.Gateway.Tenants;
using CustomerGrains.Grains;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CustomerGrains.Gateway.Replies;

/// <summary>How replies are delivered (configuration section <c>Replies</c>).</summary>
public sealed class ReplyOptions
{
    public const string SectionName = "Replies";

    /// <summary>Attempts before a reply is given up as failed (with the CRM's last answer as the reason).</summary>
    public int MaxAttempts { get; set; } = 8;

    /// <summary>How often each silo looks for replies due (a new one is sent at once by the silo that took it).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a silo sending a reply holds it; if the silo dies, another sends it after that.</summary>
    public TimeSpan ClaimTimeout { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>
/// Delivers the reply outbox to the CRMs. The silo that wrote a reply is woken at once; every silo also polls for
/// replies that are due (retries after their back-off or the CRM's Retry-After, and replies whose silo died). A sent
/// reply joins the customer's history under the CRM's message id, so the CRM's webhook echo of it adds nothing.
/// At least once: a silo that dies between the CRM's answer and the commit leaves the reply to be sent again (no CRM
/// here takes an idempotency key for replies).
/// </summary>
public sealed class ReplyDispatcher(
    ReplyStore store,
    IEnumerable<IReplySender> senders,
    TenantRegistry tenants,
    IGrainFactory grains,
    IOptions<ReplyOptions> options,
    TimeProvider time,
    ILogger<ReplyDispatcher> logger) : BackgroundService
{
    // Replies in flight at once per silo: a CRM's answer takes tens of milliseconds, so sending one at a time (or a
    // batch at a time, waiting for its slowest) leaves the outbox growing behind 32 agents (bench.sh replies).
    private const int Senders = 32;
    private readonly Wakeup _wake = new();
    private readonly SemaphoreSlim _slots = new(Senders, Senders);

    /// <summary>Looks for due replies now (one was just written).</summary>
    public void Wake() => _wake.Set();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    // Claim as many as there are free senders; while every sender is busy, wait for one and claim again.
                    while (true)
                    {
                        var free = _slots.CurrentCount;
                        var due = free == 0 ? [] : await store.ClaimDueAsync(free, options.Value.ClaimTimeout, stoppingToken);
                        foreach (var reply in due)
                        {
                            await _slots.WaitAsync(stoppingToken);
                            _ = SendAsync(reply, stoppingToken);
                        }

                        if (free > 0 && due.Count < free)
                        {
                            break; // nothing more is due now
                        }

                        await _slots.WaitAsync(stoppingToken);
                        _slots.Release();
                    }
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    Log.ReplyPollFailed(logger, ex);
                }

                await _wake.WaitAsync(options.Value.PollInterval, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        // Let the sends in flight finish, 15 s at most in all (each is bounded by its HTTP client's 10 s timeout); what
        // they leave is claimed again by another silo.
        var until = time.GetUtcNow() + TimeSpan.FromSeconds(15);
        for (var i = 0; i < Senders; i++)
        {
            var left = until - time.GetUtcNow();
            if (left <= TimeSpan.Zero || !await _slots.WaitAsync(left, CancellationToken.None))
            {
                break;
            }
        }
    }

    private async Task SendAsync(OutboxReply reply, CancellationToken cancellationToken)
    {
        try
        {
            await DeliverAsync(reply, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Log.ReplyPollFailed(logger, ex); // its claim expires, and a silo sends it then
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            _slots.Release();
        }
    }

    private async Task DeliverAsync(OutboxReply reply, CancellationToken cancellationToken)
    {
        if (!tenants.TryGetConnection(reply.Provider, reply.ConnectionId, out var connection))
        {
            await store.FailedAsync(reply, $"Connection '{reply.ConnectionId}' is no longer configured.", null, cancellationToken);
            return;
        }

        string messageId;
        try
        {
            messageId = await senders.First(s => s.Provider == reply.Provider).SendAsync(connection, reply, cancellationToken);
        }
        catch (CrmApiException ex)
        {
            var retry = ex.RetryAfter is not { } after || reply.Attempts + 1 >= options.Value.MaxAttempts
                ? (TimeSpan?)null
                : after > TimeSpan.Zero ? after : TimeSpan.FromSeconds(Math.Min(300, Math.Pow(2, reply.Attempts + 1)));
            await store.FailedAsync(reply, ex.Message, retry, cancellationToken);
            Log.ReplyNotSent(logger, reply.ReplyId, reply.Provider, reply.Attempts + 1, retry is null, ex.Message);
            return;
        }

        // What was sent from a suggestion is what retrieval learns from: recorded before the reply is marked sent, so a
        // silo that dies in between sends the reply again (at least once, as always) and records nothing twice.
        if (reply.SuggestionId is { } suggestionId)
        {
            try
            {
                await grains.GetGrain<ISuggestionAuditGrain>(reply.TenantId).RecordSentAsync(reply.CustomerId, suggestionId, reply.Text);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                Log.ReplySuggestionNotRecorded(logger, reply.ReplyId, suggestionId, ex);
            }
        }

        await store.SentAsync(reply, messageId, cancellationToken);
        GatewayTelemetry.RepliesSent.Add(1, new KeyValuePair<string, object?>("provider", reply.Provider));
        if (reply.Private)
        {
            return; // a note is not the customer's conversation
        }

        try
        {
            var interaction = new Interaction($"{reply.Provider}:{reply.ConnectionId}", messageId, reply.Channel, InteractionDirection.Outbound, reply.Text,
                time.GetUtcNow(), reply.ConversationId, Author: reply.SentBy);
            await grains.GetGrain<ICustomerGrain>(CustomerKey.Of(reply.TenantId, reply.CustomerId)).AppendAsync(new AppendRequest(interaction, CustomerFacts.None, []));
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            Log.ReplyNotRecorded(logger, reply.ReplyId, ex); // sent: the CRM's webhook echo records it
        }
    }
}
