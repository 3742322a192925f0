using System.Net;
using CustomerGrains.Gateway.Webhooks;
using CustomerGrains.Grains;
using CustomerGrains.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CustomerGrains.Gateway.Tests;

public sealed class WebhookTests(GatewayCluster gateway) : IClassFixture<GatewayCluster>
{
    private static int _next = Random.Shared.Next(1_000_000, 9_000_000);

    private static int Next() => Interlocked.Increment(ref _next);

    /// <summary>A signed delivery per provider: the path, body, headers, and the identity its customer gets (the
    /// contact's id in its connection's namespace).</summary>
    private (string Path, string Body, Dictionary<string, string> Headers, string Customer) Delivery(string provider, string text, DateTimeOffset? at = null, string? secret = null)
    {
        var now = at ?? DateTimeOffset.UtcNow;
        var n = Next();
        switch (provider)
        {
            case "chatwoot":
                var chatwoot = Payloads.Chatwoot(n, n, text);
                return ("/webhooks/chatwoot/cw1", chatwoot, Signing.Chatwoot(chatwoot, now, secret ?? Signing.ChatwootSecret), $"chatwoot@cw1:{n}");
            case "zendesk":
                var zendesk = Payloads.Zendesk($"evt-{n}", n, n, text);
                return ("/webhooks/zendesk/zd1", zendesk, Signing.Zendesk(zendesk, now, secret ?? Signing.ZendeskSecret), $"zendesk@zd1:{n}");
            case "intercom":
                var intercom = Payloads.Intercom($"conv{n}", $"contact{n}", $"part{n}", text);
                return ("/webhooks/intercom/ic1", intercom, Signing.Intercom(intercom, secret ?? Signing.IntercomSecret), $"intercom@ic1:contact{n}");
            case "hubspot":
                gateway.HubSpot.Messages[$"m{n}"] = Payloads.HubSpotMessage($"m{n}", text, contactId: $"{n}");
                var hubspot = Payloads.HubSpot(n, $"m{n}", now.ToUnixTimeMilliseconds());
                var uri = new Uri(gateway.Silo.PublicUrl, "/webhooks/hubspot/hs1");
                return ("/webhooks/hubspot/hs1", hubspot, Signing.HubSpot(hubspot, uri, now, secret ?? Signing.HubSpotSecret), $"hubspot@hs1:{n}");
            default:
                var standard = Payloads.Standard($"crm-{n}", $"msg-{n}", text);
                return ("/webhooks/standard/crm1", standard, Signing.Standard(standard, $"wh_{n}", now, secret), $"standard@crm1:crm-{n}");
        }
    }

    public static TheoryData<string> Providers => new() { "chatwoot", "zendesk", "intercom", "hubspot", "standard" };

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task A_signed_delivery_is_accepted_and_shows_up_in_the_context(string provider)
    {
        var (path, body, headers, customer) = Delivery(provider, $"Where is my order? ({provider})");

        using var response = await gateway.PostWebhookAsync(path, body, headers);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var context = await gateway.WaitForInteractionsAsync(customer, 1);
        var turn = Assert.Single(context.Recent);
        Assert.Equal($"Where is my order? ({provider})", turn.Text);
        Assert.Equal(InteractionDirection.Inbound, turn.Direction);
        Assert.StartsWith(provider, turn.Source, StringComparison.Ordinal);
        Assert.Contains(context.Identities, i => i.ToString() == customer);
    }

    public static TheoryData<string, string> Rejections()
    {
        var data = new TheoryData<string, string>();
        foreach (var provider in new[] { "chatwoot", "zendesk", "intercom", "hubspot", "standard" })
        {
            data.Add(provider, "tampered body");
            data.Add(provider, "wrong secret");
            if (provider != "intercom") // Intercom signs no timestamp
            {
                data.Add(provider, "stale timestamp");
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Rejections))]
    public async Task A_delivery_that_fails_verification_gets_401_and_stores_nothing(string provider, string fault)
    {
        var wrongSecret = provider == "standard" ? "whsec_" + Convert.ToBase64String("another-key-entirely-0123456"u8.ToArray()) : "not-the-secret-0123456789";
        var (path, body, headers, customer) = fault switch
        {
            "wrong secret" => Delivery(provider, "forged", secret: wrongSecret),
            "stale timestamp" => Delivery(provider, "replayed", at: DateTimeOffset.UtcNow.AddMinutes(-6)),
            _ => Delivery(provider, "original"),
        };
        if (fault == "tampered body")
        {
            body = body.Insert(1, " "); // still valid JSON, no longer the signed bytes
        }

        using var response = await gateway.PostWebhookAsync(path, body, headers);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var number = System.Text.RegularExpressions.Regex.Match(customer, "[0-9]+$").Value; // every identity of this delivery ends in it
        Assert.Equal(0L, await gateway.Cluster.Database.ScalarAsync<long>("SELECT count(*) FROM inbox WHERE identity_key ~ $1", $"[^0-9]{number}$"));
        Assert.Null(await gateway.ContextAsync(customer));
    }

    [Fact]
    public async Task The_same_delivery_five_times_at_once_yields_one_interaction()
    {
        var (path, body, headers, customer) = Delivery("chatwoot", "Sent five times");

        var responses = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => gateway.PostWebhookAsync(path, body, headers)));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(1L, await gateway.Cluster.Database.ScalarAsync<long>("SELECT count(*) FROM inbox WHERE identity_key = $1", customer));
        // Once the only row is delivered, nothing more can arrive for this customer.
        Assert.True(await Eventually.TrueAsync(
            async () => await gateway.Cluster.Database.ScalarAsync<long>("SELECT count(*) FROM inbox WHERE identity_key = $1 AND status = 'done'", customer) == 1,
            TimeSpan.FromSeconds(30)), "the delivery was never completed");
        Assert.Equal(1, (await gateway.ContextAsync(customer))!.Stats.Interactions);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task An_agents_public_reply_is_kept_as_outbound_with_its_author_after_the_customers_message_and_a_note_is_not(string provider)
    {
        var n = Next();
        var now = DateTimeOffset.UtcNow;
        var hubspot = new Uri(gateway.Silo.PublicUrl, "/webhooks/hubspot/hs1");
        (string Path, string Body, Dictionary<string, string> Headers) Send(string kind, string text, int seq)
        {
            switch (provider)
            {
                case "chatwoot":
                    var chatwoot = Payloads.Chatwoot(n * 10 + seq, n, text, messageType: kind == "customer" ? "incoming" : "outgoing", isPrivate: kind == "note");
                    return ("/webhooks/chatwoot/cw1", chatwoot, Signing.Chatwoot(chatwoot, now));
                case "zendesk":
                    var zendesk = Payloads.Zendesk($"evt-{n}-{seq}", n * 10 + seq, n, text, isPublic: kind != "note", byStaff: kind != "customer");
                    return ("/webhooks/zendesk/zd1", zendesk, Signing.Zendesk(zendesk, now));
                case "intercom":
                    var intercom = Payloads.Intercom($"conv{n}", $"contact{n}", $"part{n}-{seq}", text, authorType: kind == "customer" ? "user" : "admin", partType: kind == "note" ? "note" : "comment");
                    return ("/webhooks/intercom/ic1", intercom, Signing.Intercom(intercom));
                case "hubspot":
                    gateway.HubSpot.Messages[$"m{n}-{seq}"] = Payloads.HubSpotMessage($"m{n}-{seq}", text, direction: kind == "customer" ? "INCOMING" : "OUTGOING", contactId: $"{n}");
                    var body = Payloads.HubSpot(n, $"m{n}-{seq}", now.ToUnixTimeMilliseconds() + seq, messageType: kind == "note" ? "COMMENT" : "MESSAGE");
                    return ("/webhooks/hubspot/hs1", body, Signing.HubSpot(body, hubspot, now));
                default:
                    var standard = Payloads.Standard($"crm-{n}", $"msg-{n}-{seq}", text, direction: kind == "customer" ? "inbound" : "outbound");
                    return ("/webhooks/standard/crm1", standard, Signing.Standard(standard, $"wh_{n}_{seq}", now));
            }
        }

        // A custom CRM sends no notes: it is told nothing but the conversation.
        var deliveries = new List<(string Kind, string Text, int Seq)> { ("customer", "Where is my parcel?", 1), ("agent", "It left our warehouse today.", 2) };
        if (provider != "standard")
        {
            deliveries.Add(("note", "internal: check the courier", 3));
        }

        foreach (var (kind, text, seq) in deliveries)
        {
            var (path, body, headers) = Send(kind, text, seq);
            using var response = await gateway.PostWebhookAsync(path, body, headers);
            response.EnsureSuccessStatusCode();
            Assert.Contains(kind == "note" ? "\"stored\":0" : "\"stored\":1", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        var identity = provider switch
        {
            "chatwoot" => $"chatwoot@cw1:{n}",
            "zendesk" => $"zendesk@zd1:{n}",
            "intercom" => $"intercom@ic1:contact{n}",
            "hubspot" => $"hubspot@hs1:{n}",
            _ => $"standard@crm1:crm-{n}",
        };
        var context = await gateway.WaitForInteractionsAsync(identity, 2);

        Assert.Equal(2, context.Stats.Interactions); // the note never entered the inbox
        Assert.Equal((InteractionDirection.Inbound, "Where is my parcel?", (string?)null), (context.Recent[0].Direction, context.Recent[0].Text, context.Recent[0].Author));
        Assert.Equal((InteractionDirection.Outbound, "It left our warehouse today.", "Kim (agent)"), (context.Recent[1].Direction, context.Recent[1].Text, context.Recent[1].Author));
        Assert.False(context.Recent[1].FromBot);
        Assert.NotEqual("Kim (agent)", context.Profile.Name); // the agent's name is not the customer's
    }

    [Fact]
    public async Task A_bots_message_is_kept_as_outbound_and_marked_as_a_bots()
    {
        var n = Next();
        var now = DateTimeOffset.UtcNow;
        var first = Payloads.Chatwoot(n * 10 + 1, n, "Hello?");
        var bot = Payloads.Chatwoot(n * 10 + 2, n, "Hi! An agent will be with you shortly.", messageType: "template");
        (await gateway.PostWebhookAsync("/webhooks/chatwoot/cw1", first, Signing.Chatwoot(first, now))).EnsureSuccessStatusCode();
        (await gateway.PostWebhookAsync("/webhooks/chatwoot/cw1", bot, Signing.Chatwoot(bot, now))).EnsureSuccessStatusCode();

        var context = await gateway.WaitForInteractionsAsync($"chatwoot@cw1:{n}", 2);

        var reply = Assert.Single(context.Recent, t => t.Direction == InteractionDirection.Outbound);
        Assert.True(reply.FromBot);
        Assert.Equal("Welcome bot", reply.Author);
        Assert.Equal("Ann Lee", context.Profile.Name); // the bot's name is not the customer's
    }

    [Fact]
    public async Task A_CRM_contact_and_a_HubSpot_contact_with_one_email_are_one_customer_where_both_connections_vouch_for_emails()
    {
        var n = Next();
        var email = $"same.person.{n}@example.com";
        var standard = Payloads.Standard($"crm-{n}", $"msg-{n}", "Hello from the CRM", email: email);
        gateway.HubSpot.Messages[$"m{n}"] = Payloads.HubSpotMessage($"m{n}", "Hello from HubSpot", contactId: $"{n}", email: email);
        var hubspot = Payloads.HubSpot(n, $"m{n}", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var uri = new Uri(gateway.Silo.PublicUrl, "/webhooks/hubspot/hs1");

        (await gateway.PostWebhookAsync("/webhooks/standard/crm1", standard, Signing.Standard(standard, $"wh_{n}", DateTimeOffset.UtcNow))).EnsureSuccessStatusCode();
        await gateway.WaitForInteractionsAsync($"standard:crm-{n}", 1);
        (await gateway.PostWebhookAsync("/webhooks/hubspot/hs1", hubspot, Signing.HubSpot(hubspot, uri, DateTimeOffset.UtcNow))).EnsureSuccessStatusCode();

        var context = await gateway.WaitForInteractionsAsync($"hubspot:{n}", 2);
        Assert.Equal(context.CustomerId, (await gateway.ContextAsync($"standard:crm-{n}"))!.CustomerId);
        Assert.Equal(["Hello from HubSpot", "Hello from the CRM"], context.Recent.Select(t => t.Text).Order());
        Assert.Equal([email], context.Profile.Emails);
    }

    [Fact]
    public async Task A_chat_visitor_using_a_customers_email_does_not_see_their_history()
    {
        // The customer, known to a CRM that vouches for emails, with an order in their history.
        var n = Next();
        var email = $"victim.{n}@example.com";
        var victim = Payloads.Standard($"crm-{n}", $"msg-{n}", "My order 4471 goes to 5 Baker St", email: email, name: "Ann Lee");
        (await gateway.PostWebhookAsync("/webhooks/standard/crm1", victim, Signing.Standard(victim, $"wh_{n}", DateTimeOffset.UtcNow))).EnsureSuccessStatusCode();
        var victimContext = await gateway.WaitForInteractionsAsync($"standard:crm-{n}", 1);

        // A visitor types that email into the chat widget's pre-chat form, under another name.
        var visitor = Payloads.Chatwoot(n, n, "Where is my order?", email: email, name: "Mallory");
        (await gateway.PostWebhookAsync("/webhooks/chatwoot/cw1", visitor, Signing.Chatwoot(visitor, DateTimeOffset.UtcNow))).EnsureSuccessStatusCode();
        var visitorContext = await gateway.WaitForInteractionsAsync($"chatwoot@cw1:{n}", 1);

        Assert.NotEqual(victimContext.CustomerId, visitorContext.CustomerId);
        Assert.DoesNotContain(visitorContext.Recent, t => t.Text.Contains("Baker", StringComparison.Ordinal));
        Assert.Empty(visitorContext.Profile.Emails); // an email nobody vouched for is no identity
        Assert.Equal(email, visitorContext.Profile.Attributes["unverified_email"]);
        var after = (await gateway.ContextAsync($"standard:crm-{n}"))!;
        Assert.Equal("Ann Lee", after.Profile.Name);
        Assert.Equal(1, after.Stats.Interactions);
    }

    [Fact]
    public async Task The_same_contact_id_on_two_connections_of_one_provider_is_two_customers()
    {
        var n = Next();
        var first = Payloads.Chatwoot(n, n, "Hello from the first account");
        var second = Payloads.Chatwoot(n, n, "Hello from the second account");
        (await gateway.PostWebhookAsync("/webhooks/chatwoot/cw1", first, Signing.Chatwoot(first, DateTimeOffset.UtcNow))).EnsureSuccessStatusCode();
        (await gateway.PostWebhookAsync("/webhooks/chatwoot/cw2", second, Signing.Chatwoot(second, DateTimeOffset.UtcNow))).EnsureSuccessStatusCode();

        var one = await gateway.WaitForInteractionsAsync($"chatwoot@cw1:{n}", 1);
        var two = await gateway.WaitForInteractionsAsync($"chatwoot@cw2:{n}", 1);

        Assert.NotEqual(one.CustomerId, two.CustomerId);
        Assert.Equal("Hello from the first account", Assert.Single(one.Recent).Text);
        Assert.Equal("Hello from the second account", Assert.Single(two.Recent).Text);
        using var agent = gateway.Silo.CreateClient();
        agent.DefaultRequestHeaders.Authorization = new("Bearer", GatewayTestOptions.AcmeAgent);
        using var ambiguous = await agent.GetAsync($"/v1/customers/chatwoot:{n}/context"); // which account's contact 42?
        Assert.Equal(HttpStatusCode.BadRequest, ambiguous.StatusCode);
        Assert.Contains($"chatwoot@cw2:{n}", await ambiguous.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_delivery_that_keeps_failing_is_set_aside_as_poison_with_the_reason()
    {
        var n = Next();
        gateway.HubSpot.Messages[$"m{n}"] = "status:503";
        var body = Payloads.HubSpot(n, $"m{n}", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var uri = new Uri(gateway.Silo.PublicUrl, "/webhooks/hubspot/hs1");

        using var response = await gateway.PostWebhookAsync("/webhooks/hubspot/hs1", body, Signing.HubSpot(body, uri, DateTimeOffset.UtcNow));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(await Eventually.TrueAsync(
            async () => await gateway.Cluster.Database.ScalarAsync<string>("SELECT status FROM inbox WHERE identity_key = $1", $"hubspot-thread@hs1:{n}") == "poison",
            TimeSpan.FromSeconds(30)), "the row was not set aside after 3 attempts");
        Assert.Contains("503", await gateway.Cluster.Database.ScalarAsync<string>("SELECT last_error FROM inbox WHERE identity_key = $1", $"hubspot-thread@hs1:{n}"), StringComparison.Ordinal);
        Assert.Equal(3, await gateway.Cluster.Database.ScalarAsync<int>("SELECT attempts FROM inbox WHERE identity_key = $1", $"hubspot-thread@hs1:{n}"));
    }

    [Fact]
    public async Task An_unknown_connection_and_a_bad_signature_are_answered_alike_so_connection_ids_cannot_be_probed()
    {
        var (_, body, headers, _) = Delivery("chatwoot", "hello");
        var (_, _, forged, _) = Delivery("chatwoot", "hello", secret: "not-the-secret-0123456789");

        using var unknown = await gateway.PostWebhookAsync("/webhooks/chatwoot/nope", body, headers);
        using var mismatched = await gateway.PostWebhookAsync("/webhooks/zendesk/cw1", body, headers);
        using var provider = await gateway.PostWebhookAsync("/webhooks/salesforce/cw1", body, headers);
        using var badSignature = await gateway.PostWebhookAsync("/webhooks/chatwoot/cw1", body, forged);

        static async Task<string> ProblemOf(HttpResponseMessage response)
        {
            var problem = System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
            problem.Remove("traceId"); // each request's own
            return problem.ToJsonString();
        }

        var expected = await ProblemOf(badSignature);
        Assert.Equal(HttpStatusCode.Unauthorized, badSignature.StatusCode);
        foreach (var response in new[] { unknown, mismatched, provider })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal(expected, await ProblemOf(response));
        }
    }

    [Fact]
    public async Task An_intercom_delivery_replayed_after_an_hour_is_refused_and_counted_as_stale()
    {
        var n = Next();
        var old = Payloads.Intercom($"conv{n}", $"contact{n}", $"part{n}", "replayed", sentAt: DateTimeOffset.UtcNow.AddHours(-2));

        using var response = await gateway.PostWebhookAsync("/webhooks/intercom/ic1", old, Signing.Intercom(old));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Null(await gateway.ContextAsync($"intercom@ic1:contact{n}"));
        using var client = gateway.Silo.CreateClient();
        Assert.True(await Eventually.TrueAsync(
            async () => System.Text.RegularExpressions.Regex.IsMatch(await client.GetStringAsync("/metrics"), "customergrains_webhook_rejected_total\\{[^}]*provider=\"intercom\"[^}]*reason=\"stale\"[^}]*\\} [1-9]|customergrains_webhook_rejected_total\\{[^}]*reason=\"stale\"[^}]*provider=\"intercom\"[^}]*\\} [1-9]"),
            TimeSpan.FromSeconds(10)), "no stale rejection counted");
    }

    [Fact]
    public async Task A_body_over_one_mebibyte_gets_413()
    {
        var body = "{\"event\":\"message_created\",\"content\":\"" + new string('x', 1024 * 1024) + "\"}";

        using var response = await gateway.PostWebhookAsync("/webhooks/chatwoot/cw1", body, Signing.Chatwoot(body, DateTimeOffset.UtcNow));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Theory]
    [InlineData("{not json", "not valid JSON")]
    [InlineData("{\"event\":\"message_created\",\"message_type\":\"incoming\",\"content\":\"hi\"}", "has no 'id'")]
    [InlineData("{\"event\":\"message_created\",\"id\":5,\"message_type\":\"incoming\",\"content\":\"hi\"}", "names no contact")]
    public async Task A_payload_that_cannot_be_mapped_gets_400_saying_why_and_stores_nothing(string body, string reason)
    {
        var before = await gateway.Cluster.Database.ScalarAsync<long>("SELECT count(*) FROM inbox");

        using var response = await gateway.PostWebhookAsync("/webhooks/chatwoot/cw1", body, Signing.Chatwoot(body, DateTimeOffset.UtcNow));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(reason, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(before, await gateway.Cluster.Database.ScalarAsync<long>("SELECT count(*) FROM inbox"));
    }

    [Fact]
    public async Task A_NUL_in_a_delivery_is_dropped_and_the_rest_of_the_text_kept()
    {
        // JSON may escape a NUL; PostgreSQL stores none, and a CRM would retry the failing delivery forever.
        var (path, body, headers, customer) = Delivery("standard", "Where is\0 my order?");
        Assert.Contains("\\u0000", body, StringComparison.Ordinal);

        using var response = await gateway.PostWebhookAsync(path, body, headers);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var context = await gateway.WaitForInteractionsAsync(customer, 1);
        Assert.Equal("Where is my order?", Assert.Single(context.Recent).Text);
    }

    [Fact]
    public async Task A_lone_surrogate_gets_400_saying_which_field()
    {
        var n = Next();
        var body = Payloads.Standard($"crm-{n}", $"msg-{n}", "Where is SURROGATE my order?").Replace("SURROGATE", "\\ud800", StringComparison.Ordinal);

        using var response = await gateway.PostWebhookAsync("/webhooks/standard/crm1", body, Signing.Standard(body, $"wh_{n}", DateTimeOffset.UtcNow));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("'text' is not valid text", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Events_PostgreSQL_refuses_fail_alone_not_the_deliveries_sharing_their_commit()
    {
        // A NUL past the mapping (which drops it), as a new provider's field could bring: deliveries written at once
        // share one INSERT, and the refused one must not take the others down with it.
        var inbox = gateway.Silo.Services.GetRequiredService<Inbox.InboxStore>();
        gateway.Silo.Services.GetRequiredService<Tenants.TenantRegistry>().TryGetConnection("standard", "crm1", out var connection);
        InboxEvent Event(string text)
        {
            var n = Next();
            var interaction = new Interaction("standard:crm1", $"msg-{n}", "chat", InteractionDirection.Inbound, text, DateTimeOffset.UtcNow);
            return new InboxEvent($"direct-{n}", $"standard:crm-{n}", new InboxPayload([new ExternalIdentity("standard", $"crm-{n}")], CustomerFacts.None, interaction));
        }

        var writes = Enumerable.Range(0, 40)
            .Select(i => inbox.WriteAsync(connection, [Event(i == 20 ? "not\0 storable" : $"fine {i}")], CancellationToken.None))
            .ToList();

        var refused = await Assert.ThrowsAsync<WebhookPayloadException>(() => writes[20]);
        Assert.Contains("cannot be stored", refused.Message, StringComparison.Ordinal);
        foreach (var write in writes.Where((_, i) => i != 20))
        {
            Assert.Single(await write);
        }
    }

    [Fact]
    public async Task A_storm_larger_than_the_delivery_queue_is_delivered_in_full_without_waiting_for_claims_to_expire()
    {
        // A queue of two rows and a claim timeout far beyond the test: rows that do not fit must reach the poller at
        // once, not when their claim expires.
        var options = GatewayCluster.Options(gateway.HubSpot.BaseUrl);
        options.Configuration["Inbox:QueueRows"] = "2";
        options.Configuration["Inbox:ClaimTimeout"] = "00:10:00";
        await using var cluster = await TestCluster.StartAsync(1, options);
        var storm = $"storm-{Next()}";
        var sent = await Task.WhenAll(Enumerable.Range(0, 60).Select(async n =>
        {
            var body = Payloads.Standard($"{storm}-{n % 6}", $"{storm}-m{n}", $"Storm message {n}");
            using var response = await GatewayCluster.PostWebhookAsync(cluster.Silos[0], "/webhooks/standard/crm1", body, Signing.Standard(body, $"wh_{storm}_{n}", DateTimeOffset.UtcNow));
            return response.StatusCode;
        }));
        Assert.All(sent, status => Assert.Equal(HttpStatusCode.OK, status));

        Assert.True(
            await Eventually.TrueAsync(async () => await cluster.Database.ScalarAsync<long>("SELECT count(*) FROM inbox WHERE status <> 'done'") == 0, TimeSpan.FromSeconds(60)),
            $"{await cluster.Database.ScalarAsync<long>("SELECT count(*) FROM inbox WHERE status <> 'done'")} of 60 rows are still waiting");
        Assert.Equal(60L, await cluster.Database.ScalarAsync<long>("SELECT count(DISTINCT event_id) FROM customer_interactions WHERE event_id LIKE $1", $"{storm}-m%"));
        Assert.Equal(60L, await cluster.Database.ScalarAsync<long>("SELECT count(*) FROM customer_interactions WHERE event_id LIKE $1", $"{storm}-m%"));
        Assert.Equal(6L, await cluster.Database.ScalarAsync<long>("SELECT count(DISTINCT customer_id) FROM customer_interactions WHERE event_id LIKE $1", $"{storm}-m%"));
    }

    [Fact]
    public async Task Appends_sharing_a_statement_each_get_their_own_answer_and_an_event_given_to_several_customers_is_new_once()
    {
        var store = gateway.Silo.Services.GetRequiredService<CustomerStore>();
        var tag = Guid.NewGuid().ToString("N")[..8];
        Task<long> Append(int customer, string eventId) => store.AppendAsync(
            "acme", $"cus_batch_{tag}_{customer}", new Interaction("api", eventId, "chat", InteractionDirection.Inbound, $"text of {eventId}", DateTimeOffset.UtcNow), null, new CustomerState());

        // Started together, they queue behind the statements in flight and go in batches.
        var own = Enumerable.Range(0, 60).Select(n => Append(n, $"own-{tag}-{n}")).ToList();
        var shared = Enumerable.Range(0, 8).Select(n => Append(n, $"shared-{tag}")).ToList();
        var seqs = await Task.WhenAll(own);
        var sharedSeqs = await Task.WhenAll(shared);

        Assert.All(seqs, seq => Assert.True(seq > 0));
        Assert.Equal(60, seqs.Distinct().Count());
        Assert.Single(sharedSeqs, seq => seq > 0);
        Assert.Equal(61L, await gateway.Cluster.Database.ScalarAsync<long>("SELECT count(*) FROM customer_interactions WHERE event_id LIKE $1", $"%{tag}%"));
        Assert.Equal(0L, (await Task.WhenAll(own.Take(3).Select((_, n) => Append(n, $"own-{tag}-{n}")))).Sum()); // sent again: not new
    }

    [Fact]
    public async Task A_rotated_secret_still_verifies_while_it_is_listed()
    {
        var (path, body, _, customer) = Delivery("chatwoot", "signed with the old secret");

        using var response = await gateway.PostWebhookAsync(path, body, Signing.Chatwoot(body, DateTimeOffset.UtcNow, "an-old-secret-being-rotated"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await gateway.WaitForInteractionsAsync(customer, 1);
    }
}
