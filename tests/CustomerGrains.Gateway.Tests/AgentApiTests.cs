using Orleans.Runtime;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CustomerGrains.Grains;

namespace CustomerGrains.Gateway.Tests;

public sealed class AgentApiTests(GatewayCluster gateway) : IClassFixture<GatewayCluster>
{
    private async Task<CustomerContext> CreateCustomerAsync(string crmId, string text = "My parcel 1234 has not arrived.")
    {
        var body = Payloads.Standard(crmId, $"msg-{crmId}", text, email: $"{crmId}@example.com");
        (await gateway.PostWebhookAsync("/webhooks/standard/crm1", body, Signing.Standard(body, $"wh-{crmId}", DateTimeOffset.UtcNow))).EnsureSuccessStatusCode();
        return await gateway.WaitForInteractionsAsync($"standard:{crmId}", 1);
    }

    [Fact]
    public async Task The_context_carries_profile_identities_segment_and_history()
    {
        var context = await CreateCustomerAsync("ctx-1");

        Assert.Equal("acme", context.TenantId);
        Assert.Equal("Bo Chen", context.Profile.Name);
        Assert.Equal(["ctx-1@example.com"], context.Profile.Emails);
        Assert.Equal("en", context.Profile.Language);
        Assert.Equal("pro", context.Profile.Attributes["plan"]);
        Assert.Equal("vip", context.Segment); // lifetime_value 1500 >= 1000 in the default rules
        Assert.Equal("lifetime value at least 1000", context.SegmentReason);
        Assert.Equal(1500m, context.Stats.LifetimeValue);
        Assert.Equal(0.5, context.Stats.AverageSentiment);
        Assert.Contains(new ExternalIdentity("email", "ctx-1@example.com"), context.Identities);
        Assert.Equal(context.CustomerId, (await gateway.ContextAsync(context.CustomerId))!.CustomerId);
        Assert.Equal(context.CustomerId, (await gateway.ContextAsync("email:CTX-1@example.com"))!.CustomerId);
    }

    [Fact]
    public async Task The_context_keeps_recent_turns_verbatim_and_older_ones_summarised_within_bounds()
    {
        using var agent = gateway.Agent();
        var start = DateTimeOffset.UtcNow.AddHours(-1);
        for (var i = 0; i < 30; i++)
        {
            (await agent.PostAsJsonAsync("/v1/customers/intercom:bounded/interactions",
                new { eventId = $"b-{i}", text = $"Question {i}. More details follow here.", occurredAt = start.AddMinutes(i) })).EnsureSuccessStatusCode();
        }

        (await agent.PostAsJsonAsync("/v1/customers/intercom:bounded/interactions",
            new { eventId = "b-long", text = new string('y', 5000), occurredAt = start.AddMinutes(30) })).EnsureSuccessStatusCode();

        var context = (await gateway.ContextAsync("intercom:bounded"))!;
        Assert.Equal(31, context.Stats.Interactions);
        Assert.Equal(20, context.Recent.Count);
        Assert.Equal("Question 11. More details follow here.", context.Recent[0].Text);
        Assert.Equal(2001, context.Recent[^1].Text.Length); // cut to 2,000 characters and an ellipsis
        Assert.StartsWith("11 earlier message(s). ", context.Summary, StringComparison.Ordinal);
        Assert.Contains("customer] Question 10.", context.Summary, StringComparison.Ordinal);
        Assert.DoesNotContain("More details", context.Summary, StringComparison.Ordinal); // first sentences only
        Assert.True(context.Summary.Length <= 1600, $"summary of {context.Summary.Length} characters");
    }

    [Fact]
    public async Task Direct_ingestion_is_idempotent_by_event_id_and_validated()
    {
        using var agent = gateway.Agent();
        var input = new { eventId = "api-1", text = "Called about invoice 77", channel = "phone", direction = "inbound" };

        var first = await agent.PostAsJsonAsync("/v1/customers/zendesk:55501/interactions", input);
        var second = await agent.PostAsJsonAsync("/v1/customers/zendesk:55501/interactions", input);
        var invalid = await agent.PostAsJsonAsync("/v1/customers/zendesk:55501/interactions", new { text = "", direction = "sideways", sentiment = 3 });
        var malformed = await agent.PostAsync("/v1/customers/zendesk:55501/interactions", new StringContent("{oops", System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.True((await first.Content.ReadFromJsonAsync<AppendResult>(GatewayCluster.Json))!.Added);
        Assert.False((await second.Content.ReadFromJsonAsync<AppendResult>(GatewayCluster.Json))!.Added);
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        var problem = await invalid.Content.ReadFromJsonAsync<JsonElement>();
        var errors = problem.GetProperty("errors");
        Assert.True(errors.TryGetProperty("eventId", out _) && errors.TryGetProperty("text", out _) && errors.TryGetProperty("direction", out _) && errors.TryGetProperty("sentiment", out _), problem.ToString());
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Equal("application/problem+json", malformed.Content.Headers.ContentType?.MediaType);
        Assert.Equal(1, (await gateway.ContextAsync("zendesk:55501"))!.Stats.Interactions);
    }

    [Fact]
    public async Task Interactions_of_many_customers_at_once_each_land_once_in_order()
    {
        // Appends made at the same time share one statement and one commit: each must still get its own answer.
        using var agent = gateway.Agent();
        var tag = Guid.NewGuid().ToString("N")[..8];
        var customers = Enumerable.Range(0, 24).Select(n => $"zendesk:many-{tag}-{n}").ToList();
        await Task.WhenAll(customers.Select(async customer =>
        {
            for (var i = 0; i < 3; i++)
            {
                var response = await agent.PostAsJsonAsync($"/v1/customers/{customer}/interactions", new { eventId = $"{customer}-{i}", text = $"Message {i} of {customer}" });
                Assert.True((await response.Content.ReadFromJsonAsync<AppendResult>(GatewayCluster.Json))!.Added);
            }
        }));

        foreach (var customer in customers)
        {
            var context = (await gateway.ContextAsync(customer))!;
            Assert.Equal([$"Message 0 of {customer}", $"Message 1 of {customer}", $"Message 2 of {customer}"], context.Recent.Select(r => r.Text));
        }

        Assert.Equal(24 * 3, await gateway.Cluster.Database.ScalarAsync<long>("SELECT count(*) FROM customer_interactions WHERE event_id LIKE $1", $"%{tag}%"));
    }

    [Fact]
    public async Task A_NUL_in_a_request_body_is_dropped_and_the_text_stored()
    {
        using var agent = gateway.Agent();

        var response = await agent.PostAsJsonAsync("/v1/customers/zendesk:55502/interactions", new { eventId = "api-nul\0", text = "Called\0 about invoice 78" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var turn = Assert.Single((await gateway.ContextAsync("zendesk:55502"))!.Recent);
        Assert.Equal(("api-nul", "Called about invoice 78"), (turn.EventId, turn.Text));
    }

    [Fact]
    public async Task Preferences_change_only_what_is_sent()
    {
        var context = await CreateCustomerAsync("prefs-1");
        using var agent = gateway.Agent();

        await agent.PatchAsJsonAsync($"/v1/customers/{context.CustomerId}/preferences", new { tone = "formal", topics = new[] { "billing" } });
        var response = await agent.PatchAsJsonAsync($"/v1/customers/{context.CustomerId}/preferences", new { channel = "email", doNotContact = true });

        var preferences = await response.Content.ReadFromJsonAsync<Preferences>(GatewayCluster.Json);
        Assert.Equal(new Preferences("email", "formal", null, true, ["billing"]) with { Topics = preferences!.Topics }, preferences);
        Assert.Equal(["billing"], preferences.Topics);
        Assert.Equal("formal", (await gateway.ContextAsync(context.CustomerId))!.Preferences.Tone);
    }

    [Fact]
    public async Task Another_tenants_key_never_sees_this_tenants_customer()
    {
        var context = await CreateCustomerAsync("iso-1");
        using var globex = gateway.Agent(GatewayCluster.GlobexAdmin);
        var paths = new[] { context.CustomerId, "standard:iso-1", "email:iso-1@example.com" };

        foreach (var id in paths)
        {
            Assert.Equal(HttpStatusCode.NotFound, (await globex.GetAsync($"/v1/customers/{id}/context")).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await globex.GetAsync($"/v1/customers/{id}/export")).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await globex.PatchAsJsonAsync($"/v1/customers/{id}/preferences", new { tone = "rude" })).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await globex.DeleteAsync($"/v1/customers/{id}")).StatusCode);
        }

        // Ingesting under an external id creates globex's own customer; it shares nothing with acme's.
        Assert.Equal(HttpStatusCode.NotFound, (await globex.PostAsJsonAsync($"/v1/customers/{context.CustomerId}/interactions", new { eventId = "x", text = "hi" })).StatusCode);
        (await globex.PostAsJsonAsync("/v1/customers/standard:iso-1/interactions", new { eventId = "g-1", text = "globex message" })).EnsureSuccessStatusCode();
        var theirs = (await gateway.ContextAsync("standard:iso-1", GatewayCluster.GlobexAdmin))!;
        Assert.NotEqual(context.CustomerId, theirs.CustomerId);
        Assert.Equal(["globex message"], theirs.Recent.Select(t => t.Text));
        var ours = (await gateway.ContextAsync("standard:iso-1"))!;
        Assert.Equal(1, ours.Stats.Interactions);
        Assert.Equal("tone-unset", ours.Preferences.Tone ?? "tone-unset");
    }

    [Fact]
    public async Task A_key_learns_its_tenant_and_role_from_me()
    {
        using var senior = gateway.Agent(GatewayCluster.AcmeSenior);
        var me = await senior.GetFromJsonAsync<System.Text.Json.JsonElement>("/v1/me");
        Assert.Equal("acme", me.GetProperty("tenantId").GetString());
        Assert.Equal("senior", me.GetProperty("role").GetString());
        using var nobody = gateway.Agent("not-a-key");
        Assert.Equal(HttpStatusCode.Unauthorized, (await nobody.GetAsync("/v1/me")).StatusCode);
    }

    [Fact]
    public async Task Calls_without_a_valid_key_get_401_and_wrong_roles_403()
    {
        using var anonymous = gateway.Silo.CreateClient();
        using var wrong = gateway.Agent("no-such-key-0123456789");
        using var agent = gateway.Agent();

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/v1/customers/x/context")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.GetAsync("/v1/customers/x/context")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await agent.DeleteAsync("/v1/customers/x")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await agent.GetAsync("/v1/customers/x/export")).StatusCode);
    }

    [Fact]
    public async Task A_customer_stored_by_the_runtime_before_Orleans_keeps_its_profile_and_preferences()
    {
        // As the project's own runtime left it: the state in grain_state, the history in its own tables.
        var context = await CreateCustomerAsync("legacy-1", "Hello from before the upgrade");
        var key = $"acme/{context.CustomerId}";
        var db = gateway.Cluster.Database;
        await db.ScalarAsync<long>("DELETE FROM OrleansStorage WHERE GrainTypeString = 'customer' AND GrainIdExtensionString = $1 RETURNING 1::bigint", key);
        await db.ScalarAsync<long>(
            """
            INSERT INTO grain_state (service_id, grain_type, grain_key, state_name, version, payload) VALUES ('customergrains', 'customer', $1, 'customer', 3,
              '{"exists":true,"name":"Vera Legacy","emails":["vera@example.com"],"phones":[],"language":"uk","attributes":{"plan":"gold"},"preferences":{"channel":"email","tone":"formal","language":"uk","doNotContact":true,"topics":["billing"]}}')
            RETURNING 1::bigint
            """, key);
        await gateway.Silo.GrainFactory.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);

        var migrated = await gateway.ContextAsync(context.CustomerId);

        Assert.Equal(("Vera Legacy", "uk", "gold"), (migrated!.Profile.Name, migrated.Profile.Language, migrated.Profile.Attributes["plan"]));
        Assert.Equal(("email", "formal", true), (migrated.Preferences.Channel, migrated.Preferences.Tone, migrated.Preferences.DoNotContact));
        Assert.Equal(1, migrated.Stats.Interactions);
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM grain_state WHERE grain_key = $1", key));
        Assert.Equal(1L, await db.ScalarAsync<long>("SELECT count(*) FROM OrleansStorage WHERE GrainTypeString = 'customer' AND GrainIdExtensionString = $1", key));
    }

    [Fact]
    public async Task Export_contains_everything_and_erase_removes_it_from_every_table()
    {
        var context = await CreateCustomerAsync("gdpr-1", "Please delete my data, order 998.");
        using var agent = gateway.Agent();
        await agent.PostAsJsonAsync("/v1/customers/standard:gdpr-1/interactions", new { eventId = "api-gdpr", text = "Follow-up call", channel = "phone" });
        using var admin = gateway.Agent(GatewayCluster.AcmeAdmin);

        var export = await admin.GetFromJsonAsync<CustomerExport>($"/v1/customers/{context.CustomerId}/export", GatewayCluster.Json);
        Assert.Equal(["Please delete my data, order 998.", "Follow-up call"], export!.History.Select(h => h.Text).Order(StringComparer.Ordinal).Reverse());
        Assert.Equal("Bo Chen", export.Context.Profile.Name);
        Assert.Contains(new ExternalIdentity("standard@crm1", "gdpr-1"), export.Context.Identities);
        var inbox = Assert.Single(export.InboxRecords);
        Assert.Contains("order 998", inbox.Payload, StringComparison.Ordinal);

        const string stateRow = "SELECT count(*) FROM OrleansStorage WHERE GrainTypeString = 'customer' AND GrainIdExtensionString = $1";
        Assert.Equal(1L, await gateway.Cluster.Database.ScalarAsync<long>(stateRow, $"acme/{context.CustomerId}")); // the grain's state row
        using var erased = await admin.DeleteAsync($"/v1/customers/{context.CustomerId}");
        Assert.Equal(HttpStatusCode.NoContent, erased.StatusCode);

        var db = gateway.Cluster.Database;
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM customer_interactions WHERE customer_id = $1", context.CustomerId));
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM customer_identities WHERE customer_id = $1", context.CustomerId));
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM customers WHERE customer_id = $1", context.CustomerId)); // the directory row
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM inbox WHERE customer_id = $1 OR payload::text LIKE '%gdpr-1%'", context.CustomerId));
        Assert.Equal(0L, await db.ScalarAsync<long>(stateRow, $"acme/{context.CustomerId}"));
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM grain_state WHERE grain_key = $1", $"acme/{context.CustomerId}"));
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/v1/customers/{context.CustomerId}/context")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/v1/customers/standard:gdpr-1/context")).StatusCode);
        Assert.Equal("ok", await db.ScalarAsync<string>("SELECT outcome FROM audit_log WHERE action = 'customer.erase' AND target = $1", context.CustomerId));
    }

    [Fact]
    public async Task Erasing_a_customer_leaves_their_email_name_and_words_in_no_table_of_the_database()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        var (email, name, words) = ($"erase.{tag}@example.com", $"Quenby Marlowe{tag}", $"hydrangea{tag}");
        var body = Payloads.Standard($"erase-{tag}", $"msg-{tag}", $"How do I return an item? I am {name}, the {words} lover.", email: email, name: name);
        (await gateway.PostWebhookAsync("/webhooks/standard/crm1", body, Signing.Standard(body, $"wh-erase-{tag}", DateTimeOffset.UtcNow))).EnsureSuccessStatusCode();
        await gateway.WaitForInteractionsAsync($"standard:erase-{tag}", 1);

        // What an agent does with the customer: read them by email (the path reaches the audit), ask for suggestions
        // (the audit of suggestions keeps the message), and send an edited one.
        using var senior = gateway.Agent(GatewayCluster.AcmeSenior);
        (await senior.PostAsJsonAsync("/v1/kb/entries", new { question = "How do I return an item?", answer = "Use the returns form within 30 days." })).EnsureSuccessStatusCode();
        using var agent = gateway.Agent();
        (await agent.GetAsync($"/v1/customers/email:{email}/context")).EnsureSuccessStatusCode();
        var suggested = await (await agent.PostAsJsonAsync($"/v1/customers/email:{email}/suggestions", new { count = 1 })).Content.ReadFromJsonAsync<SuggestionResult>(GatewayCluster.Json);
        Assert.NotEmpty(suggested!.Suggestions);
        (await agent.PostAsJsonAsync($"/v1/suggestions/{suggested.Suggestions[0].Id}/feedback", new { outcome = "edited", finalText = $"Dear {name}, about your {words}: use the returns form." })).EnsureSuccessStatusCode();

        using var admin = gateway.Agent(GatewayCluster.AcmeAdmin);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/v1/customers/email:{email}")).StatusCode);

        // Every table, every column, as text.
        await using var connection = new Npgsql.NpgsqlConnection(gateway.Cluster.Database.ConnectionString);
        await connection.OpenAsync();
        var tables = new List<string>();
        await using (var list = new Npgsql.NpgsqlCommand("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'", connection))
        await using (var reader = await list.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                tables.Add(reader.GetString(0));
            }
        }

        Assert.Contains("audit_log", tables);
        var found = new List<string>();
        foreach (var table in tables)
        {
            await using var scan = new Npgsql.NpgsqlCommand($"SELECT count(*) FROM \"{table}\" AS row WHERE row::text ILIKE ANY($1)", connection);
            scan.Parameters.AddWithValue(new[] { $"%{email}%", $"%{name}%", $"%{words}%", $"%Marlowe{tag}%" });
            if ((long)(await scan.ExecuteScalarAsync())! > 0)
            {
                found.Add(table);
            }
        }

        Assert.True(found.Count == 0, "still holding the erased customer's data: " + string.Join(", ", found));
    }

    [Fact]
    public async Task Responses_forbid_framing_sniffing_and_scripts_from_anywhere_but_the_console_itself()
    {
        using var client = gateway.Silo.CreateClient();

        foreach (var path in new[] { "/", "/v1/me", "/health/live" })
        {
            using var response = await client.GetAsync(path);
            Assert.Equal("default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
                response.Headers.GetValues("Content-Security-Policy").Single());
            Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        }
    }

    [Fact]
    public async Task The_OpenAPI_document_describes_the_api_and_health_reports_ready()
    {
        using var client = gateway.Silo.CreateClient();

        var document = await client.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        var ready = await client.GetAsync("/health/ready");

        var paths = document.GetProperty("paths");
        Assert.True(paths.TryGetProperty("/webhooks/{provider}/{connectionId}", out _));
        Assert.True(paths.TryGetProperty("/v1/customers/{id}/context", out _));
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }
}
