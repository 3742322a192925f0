using System.Text;
using CustomerGrains.Runtime.Configuration;
using CustomerGrains.Runtime.Storage;
using CustomerGrains.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CustomerGrains.Runtime.Tests;

/// <summary>The version rules every grain storage keeps, checked on PostgreSQL and on the in-memory provider alike.</summary>
public sealed class GrainStorageTests : IAsyncLifetime
{
    private static readonly GrainId Grain = new("counter", "acme/42");
    private TestDatabase _database = null!;
    private Database _postgres = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync();
        _postgres = new Database(
            Options.Create(new DatabaseOptions { ConnectionString = _database.ConnectionString }),
            [new SchemaScripts("runtime", typeof(Database).Assembly)],
            NullLogger<Database>.Instance);
        await _postgres.MigrateAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _postgres.DisposeAsync();
        await _database.DisposeAsync();
    }

    public static TheoryData<string> Providers => new() { "postgres", "memory" };

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Writes_succeed_only_from_the_version_read(string provider)
    {
        var storage = Create(provider);
        var none = await storage.ReadAsync(Grain, "state", CancellationToken.None);
        Assert.Equal(0, none.Version);
        Assert.Null(none.Payload);

        var v1 = await storage.WriteAsync(Grain, "state", Json("{\"n\":1}"), 0, CancellationToken.None);
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteAsync(Grain, "state", Json("{\"n\":9}"), 0, CancellationToken.None));
        var v2 = await storage.WriteAsync(Grain, "state", Json("{\"n\":2}"), v1, CancellationToken.None);
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteAsync(Grain, "state", Json("{\"n\":9}"), v1, CancellationToken.None));

        var read = await storage.ReadAsync(Grain, "state", CancellationToken.None);
        Assert.Equal((1L, 2L), (v1, v2));
        Assert.Equal(v2, read.Version);
        using var payload = System.Text.Json.JsonDocument.Parse(read.Payload!); // jsonb re-formats: compare values
        Assert.Equal(2, payload.RootElement.GetProperty("n").GetInt32());
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Clearing_needs_the_current_version_and_leaves_nothing(string provider)
    {
        var storage = Create(provider);
        var v1 = await storage.WriteAsync(Grain, "other", Json("{}"), 0, CancellationToken.None);
        var v2 = await storage.WriteAsync(Grain, "other", Json("{}"), v1, CancellationToken.None);

        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.ClearAsync(Grain, "other", v1, CancellationToken.None));
        await storage.ClearAsync(Grain, "other", v2, CancellationToken.None);

        Assert.Equal(default, await storage.ReadAsync(Grain, "other", CancellationToken.None));
        Assert.Equal(1, await storage.WriteAsync(Grain, "other", Json("{}"), 0, CancellationToken.None));
    }

    private IGrainStorage Create(string provider) => provider == "memory"
        ? new MemoryGrainStorage()
        : new PostgresGrainStorage(_postgres, Options.Create(new ClusterOptions()), new SiloLifetime());

    private static byte[] Json(string json) => Encoding.UTF8.GetBytes(json);
}
