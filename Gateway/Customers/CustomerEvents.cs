using System.Net.ServerSentEvents;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using CustomerGrains.Grains;
using Orleans.Streams;

namespace CustomerGrains.Gateway.Customers;

/// <summary>
/// <c>GET /v1/customers/{id}/events</c>: the customer's new interactions as server-sent events (<c>interaction</c>, id:
/// the sequence number). While a view watches (<see cref="ICustomerGrain.WatchAsync"/>), the customer grain publishes each
/// interaction it stores to the customer's Orleans stream (<see cref="LiveStreams"/>); a notification here wakes the view, which then reads what it has not seen from
/// PostgreSQL in sequence order. So a view that reconnects with <c>Last-Event-ID</c> (or <c>?after=</c>) gets what
/// it missed, and a notification lost with a silo costs at most <see cref="CatchUpEvery"/>.
/// </summary>
public static class CustomerEvents
{
    public static readonly TimeSpan CatchUpEvery = TimeSpan.FromSeconds(5);

    /// <summary>Writes the stream to the response until the client goes. Subscribed, and its starting point taken,
    /// before the headers go: a view that knows it is connected has missed nothing from there on.</summary>
    public static async Task WriteAsync(HttpContext http, IClusterClient client, ICustomerGrain customer, long? after)
    {
        var json = http.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        var (tenantId, customerId) = CustomerKey.Parse(customer.GetPrimaryKeyString());
        var wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
        var stream = client.GetStreamProvider(LiveStreams.Provider).GetStream<StoredInteraction>(LiveStreams.Customer(tenantId, customerId));
        var subscription = await stream.SubscribeAsync((_, _) =>
        {
            wake.Writer.TryWrite(true);
            return Task.CompletedTask;
        });
        try
        {
            // Without a position, the view starts from what is stored now.
            var seen = after ?? (await customer.GetConversationAsync(null, 1)).Items.FirstOrDefault()?.Seq ?? 0;
            http.Response.ContentType = "text/event-stream";
            http.Response.Headers.CacheControl = "no-cache,no-store";
            http.Features.GetRequiredFeature<IHttpResponseBodyFeature>().DisableBuffering();
            await http.Response.Body.FlushAsync(http.RequestAborted);
            await SseFormatter.WriteAsync(ReadAsync(customer, seen, wake.Reader, http.RequestAborted), http.Response.Body, (item, buffer) =>
            {
                using var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = json.Encoder });
                JsonSerializer.Serialize(writer, item.Data, json);
            }, http.RequestAborted);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // The view closed.
        }
        finally
        {
            try
            {
                await subscription.UnsubscribeAsync();
            }
            catch (Exception ex) when (ex is OrleansException or TimeoutException or OperationCanceledException)
            {
                // The silo is stopping: its subscriptions go with it.
            }
        }
    }

    /// <summary>What was stored after <paramref name="seen"/>, in order, each time a notification wakes the view or
    /// <see cref="CatchUpEvery"/> passes without one.</summary>
    private static async IAsyncEnumerable<SseItem<StoredInteraction>> ReadAsync(
        ICustomerGrain customer, long seen, ChannelReader<bool> wake, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            // The grain publishes only while watched: asked at every catch-up (well within the lease), before reading
            // what was missed, so nothing falls between (a grain that moved to another silo forgot the view meanwhile).
            await customer.WatchAsync();
            IReadOnlyList<StoredInteraction> missed;
            do
            {
                missed = await customer.GetSinceAsync(seen);
                foreach (var item in missed)
                {
                    seen = item.Seq;
                    yield return new SseItem<StoredInteraction>(item, "interaction") { EventId = item.Seq.ToString(System.Globalization.CultureInfo.InvariantCulture) };
                }
            }
            while (missed.Count == ConversationPage.MaxLimit);

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(CatchUpEvery);
            try
            {
                await wake.ReadAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // No notification for a while: catch up anyway.
            }
        }
    }
}
