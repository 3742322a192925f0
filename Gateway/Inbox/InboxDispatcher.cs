using System.Diagnostics;
using System.Threading.Channels;
using CustomerGrains.Gateway.Tenants;
using CustomerGrains.Grains;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CustomerGrains.Gateway.Inbox;

/// <summary>
/// Delivers inbox rows to customer grains. Rows a webhook just wrote are delivered at once by the silo that wrote
/// them (it claimed them in the same insert); every silo also polls for rows that are due: failed ones after their
/// back-off, rows whose claim expired because their silo died, and rows that did not fit in the delivery queue.
/// A customer's rows go one at a time, oldest first.
/// </summary>
public sealed class InboxDispatcher(
    InboxStore store,
    IGrainFactory grains,
    TenantRegistry tenants,
    HubSpotClient hubSpot,
    IOptions<InboxOptions> options,
    TimeProvider time,
    ILogger<InboxDispatcher> logger) : BackgroundService
{
    // Delivery shares the cores and PostgreSQL with acknowledging webhooks, which is what a CRM waits on. The queue is
    // split in Partitions by customer: each partition is one loop, so a customer's rows are delivered in order, and
    // each loop delivers what has queued meanwhile together (one directory query for all of it), Workers customers at
    // a time. Measured on 2 cores (bench.sh ingest, see README).
    private const int Partitions = 2;
    private const int Workers = 16;
    private const int ClaimBatch = 256;

    private static readonly TimeSpan BacklogEvery = TimeSpan.FromSeconds(5);

    // A storm is absorbed here (Inbox:QueueRows), and by the inbox beyond it: rows that do not fit are handed to the
    // poller at once, instead of waiting for their claim to expire (a queue of 10,000 that dropped them held a storm's
    // tail back by the whole claim timeout: bench.sh ingest applied_vs_acked 0.5, 0.83-0.9 without).
    private readonly Channel<InboxRow>[] _queues = [.. Enumerable.Range(0, Partitions).Select(_ => Channel.CreateBounded<InboxRow>(
        new BoundedChannelOptions(Math.Max(1, options.Value.QueueRows / Partitions)) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true }))];
    private long _overflowed;

    // Rows this silo claimed and had not delivered when its stop cancelled the loops: handed back at stop.
    private readonly System.Collections.Concurrent.ConcurrentQueue<long> _unfinished = new();

    /// <summary>Hands rows this silo just wrote (and claimed) to the delivery loops, as written: no re-read.</summary>
    public void Enqueue(InboxRow[] rows)
    {
        List<long>? overflow = null;
        foreach (var row in rows)
        {
            var partition = (int)((uint)HashCode.Combine(row.TenantId, row.IdentityKey) % Partitions);
            if (!_queues[partition].Writer.TryWrite(row))
            {
                (overflow ??= []).Add(row.Id);
            }
        }

        if (overflow is not null)
        {
            Interlocked.Add(ref _overflowed, overflow.Count);
            _ = ReleaseAsync(overflow);
        }
    }

    private async Task ReleaseAsync(List<long> ids)
    {
        try
        {
            await store.ReleaseAsync(ids, CancellationToken.None);
        }
        catch (Exception ex)
        {
            Log.DeliveryFailed(logger, ids.Count, ex); // their claim expires, and the poller delivers them then
        }
    }

    // A BackgroundService, not Orleans reminders or grain timers: a webhook's row is delivered milliseconds after its
    // acknowledgement by the silo that wrote it, reminders fire at most once a minute, and the poll for rows left over
    // (failed, or claimed by a silo that died) is the silo's own work, not any one grain's.
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(_queues.Select(queue => DeliverWrittenAsync(queue.Reader, stoppingToken)).Append(PollAsync(stoppingToken)));

    /// <summary>
    /// Stops the loops, then makes the rows this silo claimed but did not deliver due at once, for the other silos'
    /// pollers: a draining silo hands its queue over instead of leaving it to wait out <c>Inbox:ClaimTimeout</c>.
    /// A row whose delivery was cut short may reach its grain twice, which appends it once.
    /// </summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        var left = new List<long>();
        while (_unfinished.TryDequeue(out var id))
        {
            left.Add(id);
        }

        foreach (var queue in _queues)
        {
            while (queue.Reader.TryRead(out var row))
            {
                left.Add(row.Id);
            }
        }

        if (left.Count > 0)
        {
            try
            {
                await store.ReleaseAsync(left, cancellationToken);
                Log.HandedOver(logger, left.Count);
            }
            catch (Exception ex)
            {
                Log.DeliveryFailed(logger, left.Count, ex); // their claim expires, and the pollers deliver them then
            }
        }
    }

    private async Task DeliverWrittenAsync(ChannelReader<InboxRow> queue, CancellationToken cancellationToken)
    {
        try
        {
            var rows = new List<InboxRow>(ClaimBatch);
            while (await queue.WaitToReadAsync(cancellationToken))
            {
                rows.Clear();
                while (rows.Count < ClaimBatch && queue.TryRead(out var row))
                {
                    rows.Add(row);
                }

                try
                {
                    await DeliverAsync(rows, cancellationToken);
                }
                catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
                {
                    Log.DeliveryFailed(logger, rows.Count, ex); // the rows stay claimed; the poller re-delivers them
                }
                catch (OperationCanceledException)
                {
                    Unfinished(rows);
                    throw;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task PollAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(options.Value.PollInterval);
        var backlogRead = 0L;
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                try
                {
                    if (time.GetElapsedTime(backlogRead) >= BacklogEvery)
                    {
                        var (events, oldestAge) = await store.BacklogAsync(cancellationToken);
                        GatewayTelemetry.SetBacklog(events, oldestAge.TotalSeconds);
                        backlogRead = time.GetTimestamp();
                        if (Interlocked.Exchange(ref _overflowed, 0) is > 0 and var overflowed)
                        {
                            Log.QueueFull(logger, overflowed, options.Value.QueueRows);
                        }
                    }

                    List<InboxRow> due;
                    do
                    {
                        due = await store.ClaimDueAsync(ClaimBatch, cancellationToken);
                        try
                        {
                            await DeliverAsync(due, cancellationToken);
                        }
                        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                        {
                            Unfinished(due);
                            throw;
                        }
                    }
                    while (due.Count == ClaimBatch);
                }
                catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
                {
                    Log.PollFailed(logger, ex);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private void Unfinished(List<InboxRow> rows)
    {
        foreach (var row in rows)
        {
            _unfinished.Enqueue(row.Id);
        }
    }

    /// <summary>Customers in parallel, each customer's rows in order; a failure holds back that customer's later rows.
    /// The customers of the rows are resolved first, a tenant's all in one directory call.</summary>
    private async Task DeliverAsync(List<InboxRow> rows, CancellationToken cancellationToken)
    {
        var customers = new Dictionary<long, string>();
        foreach (var tenant in rows.Where(r => r.Payload.HubSpot is null).GroupBy(r => r.TenantId))
        {
            try
            {
                var resolved = await grains.GetGrain<ICustomerDirectoryGrain>(tenant.Key).ResolveManyAsync(tenant.Select(r => r.Payload.Identities).ToList());
                foreach (var (row, customer) in tenant.Zip(resolved))
                {
                    customers[row.Id] = customer;
                }
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                Log.DeliveryFailed(logger, tenant.Count(), ex); // each row resolves on its own below
            }
        }

        await Parallel.ForEachAsync(
            rows.GroupBy(r => (r.TenantId, r.IdentityKey)),
            new ParallelOptions { MaxDegreeOfParallelism = Workers, CancellationToken = cancellationToken },
            async (customer, token) =>
            {
                foreach (var row in customer)
                {
                    if (!await DeliverOneAsync(row, customers.GetValueOrDefault(row.Id), token))
                    {
                        break; // later rows keep their claim until it expires, then follow this one in order
                    }
                }
            });
    }

    private async Task<bool> DeliverOneAsync(InboxRow row, string? resolvedCustomer, CancellationToken cancellationToken)
    {
        // The webhook's trace goes on here, on whichever silo delivers, and into the grain through Orleans' own
        // activity propagation.
        using var activity = GatewayTelemetry.Activities.StartActivity("inbox deliver", ActivityKind.Consumer, row.TraceParent);
        activity?.SetTag("customergrains.inbox.id", row.Id);
        activity?.SetTag("customergrains.webhook.provider", row.Provider);
        try
        {
            var payload = row.Payload;
            if (payload.HubSpot is { } message)
            {
                if (!tenants.TryGetConnection(row.Provider, row.ConnectionId, out var connection))
                {
                    throw new InvalidOperationException($"Connection '{row.ConnectionId}' is no longer configured.");
                }

                var fetched = await hubSpot.FetchAsync(connection, message, cancellationToken);
                if (fetched is null)
                {
                    await store.SkipAsync(row.Id, "not the conversation (an internal comment)", cancellationToken);
                    return true;
                }

                payload = fetched;
            }

            var customerId = resolvedCustomer ?? await grains.GetGrain<ICustomerDirectoryGrain>(row.TenantId).ResolveOrCreateAsync(payload.Identities);
            await grains.GetGrain<ICustomerGrain>(CustomerKey.Of(row.TenantId, customerId))
                .AppendAsync(new AppendRequest(payload.Interaction!, payload.Facts, payload.Identities, row.Id));
            GatewayTelemetry.DeliveryDuration.Record(
                Math.Max(0, (time.GetUtcNow() - row.ReceivedAt).TotalSeconds), new KeyValuePair<string, object?>("provider", row.Provider));
            return true;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (await store.FailAsync(row, $"{ex.GetType().Name}: {ex.Message}", cancellationToken))
                {
                    Log.Poisoned(logger, row.Id, row.Attempts + 1, ex.Message);
                }
                else
                {
                    Log.WillRetry(logger, row.Id, row.Attempts + 1, ex.Message);
                }
            }
            catch (Exception recordFailure) when (!cancellationToken.IsCancellationRequested)
            {
                Log.DeliveryFailed(logger, 1, recordFailure); // the claim expires and the row is re-delivered
            }

            return false;
        }
    }
}
