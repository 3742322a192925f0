using CustomerGrains.Gateway.Crm;
using CustomerGrains.Gateway.Inbox;
using CustomerGrains.Gateway.Tenants;
using CustomerGrains.Gateway.Webhooks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CustomerGrains.Gateway.History;

/// <summary>How history is read (configuration section <c>History</c>); per connection, <c>Options:ReconcileEvery</c>
/// turns reconciliation on and <c>Options:RequestsPerMinute</c> paces the CRM's API.</summary>
public sealed class HistoryOptions
{
    public const string SectionName = "History";

    /// <summary>How often each silo looks for runs to take up and reconciliations that are due.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a silo holds a run without renewing; if the silo dies, another resumes the run after that.</summary>
    public TimeSpan LeaseTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Runs one silo reads at once (each from a different connection).</summary>
    public int Concurrency { get; set; } = 2;

    /// <summary>Tries of one request before the run stops as failed (429s and 5xx are retried as the CRM asks).</summary>
    public int MaxAttempts { get; set; } = 8;

    /// <summary>How far back a connection's first reconciliation reads.</summary>
    public TimeSpan ReconcileFirstWindow { get; set; } = TimeSpan.FromDays(1);
}

/// <summary>
/// Reads connections' past conversations through their CRM's API into the inbox, where webhooks' events go: an
/// admin's import (from a start date), and each connection's periodic reconciliation (stores what webhooks missed:
/// Chatwoot sends each webhook once). A run pages through the conversations active since its start date, reads each
/// one's messages (both sides), writes them to the inbox (duplicates of earlier runs are left out there, and of
/// webhooks by the customer's history) and stores its cursor, one conversation at a time: a run stopped by a restart
/// or a dead silo goes on from there on another silo. A BackgroundService with leases in PostgreSQL rather than a
/// grain: the work is the silo's HTTP and the inbox's, and a lease is what makes it survive a silo.
/// </summary>
public sealed class HistoryImporter(
    HistoryStore store,
    IEnumerable<IHistoryReader> readers,
    InboxStore inbox,
    InboxDispatcher dispatcher,
    TenantRegistry tenants,
    IOptions<HistoryOptions> options,
    TimeProvider time,
    ILogger<HistoryImporter> logger) : BackgroundService
{
    private readonly string _owner = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";

    /// <summary>This silo's name on the leases it holds (<c>history_runs.lease_owner</c>).</summary>
    public string Owner => _owner;
    private readonly Wakeup _wake = new();
    private readonly Dictionary<(string Tenant, string Connection, HistoryKind Kind), Task> _running = [];

    /// <summary>The reader for a connection's CRM; null where the CRM has no history API here (Standard connections).</summary>
    public IHistoryReader? ReaderOf(Connection connection) => readers.FirstOrDefault(r => r.Provider == connection.Provider);

    /// <summary>Looks for runs now (an admin just started one).</summary>
    public void Wake() => _wake.Set();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    foreach (var connection in tenants.Connections)
                    {
                        if (ReconcileEvery(connection) is { } every && ReaderOf(connection) is not null)
                        {
                            await store.ScheduleReconcileAsync(connection, every, settings.ReconcileFirstWindow, stoppingToken);
                        }
                    }

                    foreach (var done in _running.Where(r => r.Value.IsCompleted).Select(r => r.Key).ToList())
                    {
                        _running.Remove(done);
                    }

                    if (_running.Count < settings.Concurrency)
                    {
                        foreach (var run in await store.ClaimAsync(_owner, settings.LeaseTimeout, settings.Concurrency - _running.Count, stoppingToken))
                        {
                            _running[(run.TenantId, run.ConnectionId, run.Kind)] = RunAsync(run, stoppingToken);
                        }
                    }
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    Log.HistoryPollFailed(logger, ex);
                }

                await _wake.WaitAsync(settings.PollInterval, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            await Task.WhenAll(_running.Values); // each releases its run as it stops
        }
    }

    /// <summary>A connection's reconciliation interval; null when it is off (the default).</summary>
    public static TimeSpan? ReconcileEvery(Connection connection) =>
        connection.Options.TryGetValue("ReconcileEvery", out var value) && TimeSpan.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out var every) && every > TimeSpan.Zero
            ? every
            : null;

    private async Task RunAsync(HistoryRun run, CancellationToken stoppingToken)
    {
        await Task.Yield();
        var settings = options.Value;
        using var lost = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var reader = tenants.TryGetConnection(run.Provider, run.ConnectionId, out var connection) ? ReaderOf(connection) : null;
        if (reader is null)
        {
            await FinishAsync(run, $"Connection '{run.ConnectionId}' is no longer configured, or its CRM has no history API.", null, 0, 0);
            return;
        }

        var pace = connection.Option("RequestsPerMinute") is { Length: > 0 } configured && int.TryParse(configured, out var perMinute) && perMinute > 0
            ? perMinute
            : reader.DefaultRequestsPerMinute;
        using var api = new CrmCalls(connection.Provider, pace, settings.MaxAttempts, time);
        var renewing = RenewAsync(run, lost);
        long reported = 0;
        var throttledReported = 0;
        try
        {
            var (page, done) = (run.Page, run.PageDone);
            while (true)
            {
                var conversations = await reader.ConversationsAsync(api, connection, page, run.Since, lost.Token);
                for (var i = done; i < conversations.Conversations.Count; i++)
                {
                    IReadOnlyList<InboxEvent> events;
                    InboxRow[] written;
                    var skipped = 0;
                    try
                    {
                        events = await reader.MessagesAsync(api, connection, conversations.Conversations[i], run.Since, lost.Token);
                        written = await inbox.WriteAsync(connection, events, lost.Token);
                    }
                    catch (WebhookPayloadException ex)
                    {
                        // One conversation whose data cannot be read (or stored) must not stop the others.
                        Log.HistoryConversationSkipped(logger, conversations.Conversations[i].Id, run.ConnectionId, ex.Message);
                        (events, written, skipped) = ([], [], 1);
                    }

                    dispatcher.Enqueue(written);
                    var (requests, throttled) = (api.Requests - reported, api.Throttled - throttledReported);
                    if (!await store.ProgressAsync(run, _owner, settings.LeaseTimeout, page, i + 1, 1, events.Count, written.Length, skipped, requests, throttled, lost.Token))
                    {
                        return; // another silo took the run over
                    }

                    (reported, throttledReported) = (api.Requests, api.Throttled);
                }

                if (conversations.Next is null)
                {
                    break;
                }

                (page, done) = (conversations.Next, 0);
                if (!await store.ProgressAsync(run, _owner, settings.LeaseTimeout, page, 0, 0, 0, 0, 0, 0, 0, lost.Token))
                {
                    return;
                }
            }

            await FinishAsync(run, null, api, reported, throttledReported);
        }
        catch (OperationCanceledException) when (lost.IsCancellationRequested)
        {
            if (stoppingToken.IsCancellationRequested)
            {
                await store.ReleaseAsync(run, _owner, CancellationToken.None); // stopping: another silo goes on from the cursor
            }
        }
        catch (Exception ex) when (ex is CrmApiException or WebhookPayloadException) // the CRM refused, or its list cannot be read
        {
            await FinishAsync(run, ex.Message, api, reported, throttledReported);
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
        {
            // PostgreSQL or the inbox: the lease lapses and a silo resumes the run from its cursor.
            Log.HistoryPollFailed(logger, ex);
        }
        finally
        {
            await lost.CancelAsync();
            await renewing;
        }
    }

    private async Task FinishAsync(HistoryRun run, string? error, CrmCalls? api, long reported, int throttledReported)
    {
        if (await store.FinishAsync(run, _owner, error, (api?.Requests ?? 0) - reported, (api?.Throttled ?? 0) - throttledReported, CancellationToken.None) is { } ended)
        {
            Log.HistoryRunEnded(logger, run.Kind, run.ConnectionId, ended.Conversations, ended.Messages, ended.Queued, error ?? "read to the end");
        }
    }

    /// <summary>Renews the lease a third of its length at a time; when the run is found to be another silo's, cancels it.</summary>
    private async Task RenewAsync(HistoryRun run, CancellationTokenSource lost)
    {
        var lease = options.Value.LeaseTimeout;
        try
        {
            while (true)
            {
                await Task.Delay(lease / 3, time, lost.Token);
                if (!await store.RenewAsync(run, _owner, lease, lost.Token))
                {
                    await lost.CancelAsync();
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception ex)
        {
            Log.HistoryPollFailed(logger, ex); // the next progress write renews it, or the lease lapses and another silo resumes
        }
    }
}
