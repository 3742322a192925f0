using CustomerGrains.Grains;
using CustomerGrains.Silo.Hosting;
using CustomerGrains.Silo.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Hosting;
using Orleans.TestingHost;

namespace CustomerGrains.Silo.Tests;

/// <summary>The customer grain on Orleans' own test host (two silos in process), its state in the ADO.NET grain storage
/// on a real PostgreSQL.</summary>
public sealed class CustomerGrainTests : IAsyncLifetime
{
    private TestDatabase _database = null!;
    private InProcessTestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync();
        var options = Options.Create(new DatabaseOptions { ConnectionString = _database.ConnectionString });
        await using (var dataSource = NpgsqlDataSource.Create(_database.ConnectionString))
        {
            var schema = new Database(dataSource, options, [new SchemaScripts("orleans", typeof(SiloHosting).Assembly), new SchemaScripts("storage", typeof(global::CustomerGrains.Storage.InboxTable).Assembly), new SchemaScripts("customers", typeof(CustomerGrain).Assembly)], NullLogger<Database>.Instance);
            await schema.MigrateAsync(CancellationToken.None);
        }

        var builder = new InProcessTestClusterBuilder(2);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddAdoNetGrainStorage(GrainStorage.Name, o =>
            {
                o.Invariant = "Npgsql";
                o.ConnectionString = _database.ConnectionString;
                o.DeleteStateOnClear = true;
            });
            silo.Services.AddSingleton(NpgsqlDataSource.Create(_database.ConnectionString));
            silo.Services.AddSingleton<Microsoft.Extensions.Configuration.IConfiguration>(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build());
            silo.Services.AddCustomerGrains();
        });
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        await _database.DisposeAsync();
    }

    private static AppendRequest Message(string eventId, string text, CustomerFacts? facts = null) =>
        new(new Interaction("api", eventId, "chat", InteractionDirection.Inbound, text, DateTimeOffset.UtcNow), facts ?? CustomerFacts.None, [new ExternalIdentity("standard", "th-1")]);

    [Fact]
    public async Task A_customer_keeps_its_profile_and_history_across_deactivation_and_stores_each_event_once()
    {
        var customer = _cluster.Client.GetGrain<ICustomerGrain>(CustomerKey.Of("acme", "th-1"));

        await customer.AppendAsync(Message("e-1", "Hello", new CustomerFacts(Name: "Ida Test", Language: "en")));
        await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => customer.AppendAsync(Message("e-2", "Where is my order?")))); // one event, sent five times
        await customer.UpdatePreferencesAsync(new PreferencesPatch(Tone: "casual"));
        await _cluster.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);

        var context = await customer.GetContextAsync();
        Assert.Equal(("Ida Test", "casual", 2), (context.Profile.Name, context.Preferences.Tone, context.Stats.Interactions));
        Assert.Equal(1L, await _database.ScalarAsync<long>("SELECT count(*) FROM OrleansStorage WHERE GrainTypeString = 'customer' AND GrainIdExtensionString = 'acme/th-1'"));
    }

    [Fact]
    public async Task An_unknown_customer_is_not_found_and_an_erased_one_leaves_no_state()
    {
        var unknown = _cluster.Client.GetGrain<ICustomerGrain>(CustomerKey.Of("acme", "nobody"));
        await Assert.ThrowsAsync<NotFoundException>(unknown.GetContextAsync);

        var customer = _cluster.Client.GetGrain<ICustomerGrain>(CustomerKey.Of("acme", "th-erase"));
        await customer.AppendAsync(Message("e-9", "Please forget me", new CustomerFacts(Name: "Eve Gone")));
        Assert.True(await customer.EraseAsync());

        Assert.Equal(0L, await _database.ScalarAsync<long>("SELECT count(*) FROM OrleansStorage WHERE GrainIdExtensionString = 'acme/th-erase'"));
        Assert.Equal(0L, await _database.ScalarAsync<long>("SELECT count(*) FROM customer_interactions WHERE customer_id = 'th-erase'"));
        await Assert.ThrowsAsync<NotFoundException>(customer.GetContextAsync);
    }
}
