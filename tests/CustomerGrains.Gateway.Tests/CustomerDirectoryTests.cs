using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CustomerGrains.Grains;
using CustomerGrains.Testing;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Streams;

namespace CustomerGrains.Gateway.Tests;

/// <summary>What the console's customer list and customer view stand on: the directory, the conversation in pages, and
/// new interactions pushed live.</summary>
public sealed class CustomerDirectoryTests(GatewayCluster gateway) : IClassFixture<GatewayCluster>
{
    private static async Task IngestAsync(HttpClient agent, string customer, string text, object? facts = null, DateTimeOffset? at = null) =>
        (await agent.PostAsJsonAsync($"/v1/customers/{customer}/interactions", new { eventId = Guid.NewGuid().ToString(), text, occurredAt = at, customer = facts })).EnsureSuccessStatusCode();

    [Fact]
    public async Task Customers_are_listed_most_recently_active_first_and_found_by_name_email_phone_or_external_id()
    {
        using var agent = gateway.Agent();
        var tag = Guid.NewGuid().ToString("N")[..8];
        var now = DateTimeOffset.UtcNow;
        await IngestAsync(agent, $"standard:dir-{tag}-c", "Morning", new { name = $"Xia Pell {tag}" }, now.AddMinutes(-30));
        await IngestAsync(agent, $"standard:dir-{tag}-a", "Hi", new { name = $"Zoe Quill {tag}", email = $"zoe.{tag}@example.com", phone = "+49 151 2345 6789" }, now.AddMinutes(-20));
        await IngestAsync(agent, $"standard:dir-{tag}-b", "Hello", new { name = $"Yann Rook {tag}" }, now.AddMinutes(-10));
        await IngestAsync(agent, $"standard:dir-{tag}-a", "Still there?", at: now);

        var recent = await agent.GetFromJsonAsync<CustomerListPage>("/v1/customers?limit=2", GatewayCluster.Json);
        Assert.Equal([$"Zoe Quill {tag}", $"Yann Rook {tag}"], recent!.Items.Select(c => c.Name));
        Assert.NotNull(recent.Cursor);
        var next = await agent.GetFromJsonAsync<CustomerListPage>($"/v1/customers?limit=2&cursor={Uri.EscapeDataString(recent.Cursor!)}", GatewayCluster.Json);
        Assert.Equal($"Xia Pell {tag}", next!.Items[0].Name);

        foreach (var query in new[] { $"zoe quill {tag}", $"ZOE.{tag}@EXAMPLE", "2345 6789", "15123456789", $"dir-{tag}-a", $"standard:dir-{tag}-a" })
        {
            var found = await agent.GetFromJsonAsync<CustomerListPage>($"/v1/customers?query={Uri.EscapeDataString(query)}", GatewayCluster.Json);
            var zoe = Assert.Single(found!.Items, c => c.Name == $"Zoe Quill {tag}");
            Assert.Contains(new ExternalIdentity("standard@crm1", $"dir-{tag}-a"), zoe.Identities); // the contact of connection crm1
            Assert.Equal([$"zoe.{tag}@example.com"], zoe.Emails);
        }

        // "%" is a character to find, not a wildcard; other tenants' customers are never listed.
        Assert.Empty((await agent.GetFromJsonAsync<CustomerListPage>("/v1/customers?query=%25", GatewayCluster.Json))!.Items);
        using var globex = gateway.Agent(GatewayCluster.GlobexAdmin);
        Assert.Empty((await globex.GetFromJsonAsync<CustomerListPage>($"/v1/customers?query={tag}", GatewayCluster.Json))!.Items);
    }

    [Fact]
    public async Task Bad_paging_gets_problem_details()
    {
        using var agent = gateway.Agent();
        foreach (var path in new[] { "/v1/customers?limit=0", "/v1/customers?cursor=nonsense", "/v1/customers/standard:anyone/interactions?limit=500" })
        {
            using var response = await agent.GetAsync(path);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
    }

    [Fact]
    public async Task The_conversation_comes_newest_first_and_older_pages_follow_the_cursor_to_the_first_message()
    {
        using var agent = gateway.Agent();
        var customer = $"standard:pages-{Guid.NewGuid():N}";
        var start = DateTimeOffset.UtcNow.AddHours(-1);
        for (var i = 0; i < 7; i++)
        {
            await IngestAsync(agent, customer, $"message {i}", at: start.AddMinutes(i));
        }

        await IngestAsync(agent, customer, "late arrival, written first", at: start.AddMinutes(-1)); // stored last, happened first

        var texts = new List<string>();
        string? before = null;
        do
        {
            var page = await agent.GetFromJsonAsync<ConversationPage>($"/v1/customers/{customer}/interactions?limit=3{(before is null ? "" : "&before=" + before)}", GatewayCluster.Json);
            Assert.True(page!.Items.Count <= 3);
            texts.AddRange(page.Items.Select(i => i.Interaction.Text));
            before = page.Before;
        }
        while (before is not null);

        Assert.Equal(["message 6", "message 5", "message 4", "message 3", "message 2", "message 1", "message 0", "late arrival, written first"], texts);
    }

    [Fact]
    public async Task A_new_interaction_reaches_an_open_event_stream_on_another_silo_and_a_reconnect_gets_what_it_missed()
    {
        await using var hubSpot = await FakeHubSpot.StartAsync();
        await using var cluster = await TestCluster.StartAsync(2, GatewayTestOptions.Create(hubSpot.BaseUrl));
        using var writer = gateway.Agent(silo: cluster.Silos[0]);
        using var viewer = gateway.Agent(silo: cluster.Silos[1]);
        viewer.Timeout = Timeout.InfiniteTimeSpan;
        var customer = $"standard:live-{Guid.NewGuid():N}";
        await IngestAsync(writer, customer, "before the view opened");

        using (var open = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            var events = await OpenAsync(viewer, $"/v1/customers/{customer}/events", null, open.Token);
            await IngestAsync(writer, customer, "while the view is open");
            var first = await NextAsync(events, open.Token);
            Assert.Equal("interaction", first.Type);
            Assert.Equal("while the view is open", first.Data.GetProperty("interaction").GetProperty("text").GetString());
            Assert.Equal(first.Data.GetProperty("seq").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture), first.Id);
            await open.CancelAsync();

            // Closed: two more arrive; reconnecting from the last id seen gets both, in order, then the live ones.
            await IngestAsync(writer, customer, "missed one");
            await IngestAsync(writer, customer, "missed two");
            using var again = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var resumed = await OpenAsync(viewer, $"/v1/customers/{customer}/events", first.Id, again.Token);
            Assert.Equal("missed one", (await NextAsync(resumed, again.Token)).Data.GetProperty("interaction").GetProperty("text").GetString());
            Assert.Equal("missed two", (await NextAsync(resumed, again.Token)).Data.GetProperty("interaction").GetProperty("text").GetString());
            await IngestAsync(writer, customer, "live again");
            Assert.Equal("live again", (await NextAsync(resumed, again.Token)).Data.GetProperty("interaction").GetProperty("text").GetString());
        }

        using var unknown = await viewer.GetAsync("/v1/customers/standard:nobody-at-all/events");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task A_customer_publishes_what_it_stores_to_its_live_stream_only_while_a_view_watches()
    {
        var silo = gateway.Cluster.Silos[0];
        var client = silo.Services.GetRequiredService<IClusterClient>();
        var id = $"watch-{Guid.NewGuid():N}"; // globex: acme's customer list is another test's
        var customer = client.GetGrain<ICustomerGrain>(CustomerKey.Of("globex", id));
        var published = System.Threading.Channels.Channel.CreateUnbounded<StoredInteraction>();
        var subscription = await client.GetStreamProvider(LiveStreams.Provider).GetStream<StoredInteraction>(LiveStreams.Customer("globex", id))
            .SubscribeAsync((item, _) => published.Writer.WriteAsync(item).AsTask());
        static AppendRequest Message(string text) =>
            new(new Interaction("api", Guid.NewGuid().ToString(), "chat", InteractionDirection.Inbound, text, DateTimeOffset.UtcNow), CustomerFacts.None, []);
        try
        {
            await customer.AppendAsync(Message("nobody watches"));
            await customer.WatchAsync();
            await customer.AppendAsync(Message("a view watches"));

            // Streams keep a producer's order: had the first been published, it would come first.
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            Assert.Equal("a view watches", (await published.Reader.ReadAsync(wait.Token)).Interaction.Text);
        }
        finally
        {
            await subscription.UnsubscribeAsync();
        }
    }

    private sealed record Event(string Type, string? Id, JsonElement Data);

    private static async Task<StreamReader> OpenAsync(HttpClient client, string path, string? lastEventId, CancellationToken cancellationToken)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        return new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
    }

    private static async Task<Event> NextAsync(StreamReader reader, CancellationToken cancellationToken)
    {
        string? type = null, id = null, data = null;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0 && data is not null)
            {
                return new Event(type ?? "message", id, JsonDocument.Parse(data).RootElement);
            }

            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                type = line[7..];
            }
            else if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                id = line[4..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data = line[6..];
            }
        }

        throw new InvalidOperationException("The event stream ended.");
    }
}
