using System.Security.Cryptography;
using System.Text;
using CustomerGrains.Gateway.Tenants;
using CustomerGrains.Gateway.Webhooks;
using CustomerGrains.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace CustomerGrains.Gateway.Knowledge;

/// <summary>
/// Sends the escalation notifications the knowledge base wrote to its outbox (<c>kb_notifications</c>): a Standard
/// Webhooks-signed POST (<c>webhook-id</c>, <c>webhook-timestamp</c>, <c>webhook-signature: v1,...</c>) to the tenant's
/// escalation URL, retried with exponential back-off until a 2xx; after 20 attempts marked failed with the last error.
/// Each row is claimed with SKIP LOCKED, so silos polling together send it once. A BackgroundService polling the
/// outbox rather than an Orleans reminder: the notification should leave seconds after the escalation, and reminders
/// fire at most once a minute.
/// </summary>
public sealed class EscalationNotifier(NpgsqlDataSource database, TenantRegistry tenants, HttpClient http, TimeProvider time, ILogger<EscalationNotifier> logger) : BackgroundService
{
    private const int MaxAttempts = 20;
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(PollInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await SendDueAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is NpgsqlException or Grains.StorageUnavailableException)
                {
                    Log.NotifierFailed(logger, ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task SendDueAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var due = new List<(long Id, string Tenant, string Payload, int Attempts)>();
        await using (var claim = KbNotificationsTable.ClaimDue(connection, transaction, 20))
        await using (var reader = await claim.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                due.Add((reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3)));
            }
        }

        foreach (var (id, tenant, payload, attempts) in due)
        {
            var error = await SendAsync(id, tenant, payload, cancellationToken);
            await using var update = KbNotificationsTable.RecordAttempt(connection, transaction, id, attempts + 1, error, MaxAttempts, TimeSpan.FromSeconds(Math.Min(600, Math.Pow(2, attempts + 1))));
            await update.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>Null when delivered; otherwise why not.</summary>
    private async Task<string?> SendAsync(long id, string tenantId, string payload, CancellationToken cancellationToken)
    {
        if (tenants.EscalationOf(tenantId) is not { Url: { } url, Secret: { } secret } || !StandardWebhooksProvider.TryDecodeSecret(secret, out var key))
        {
            return $"Tenant '{tenantId}' has no Escalation:Url and Secret configured.";
        }

        using var request = StandardWebhooksProvider.SignedPost(url, key, $"msg_kb_{id}", time.GetUtcNow(), payload);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            using var response = await http.SendAsync(request, timeout.Token);
            return response.IsSuccessStatusCode ? null : $"{url} answered {(int)response.StatusCode}.";
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return $"{url}: {ex.Message}";
        }
    }
}
