using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace CustomerGrains.Silo.Tests;

/// <summary>
/// Every query key of Silo/Sql/001_orleans.sql, run by Orleans' own ADO.NET providers (the membership table, the grain
/// storage and the reminder table a silo resolves) against PostgreSQL: the contract in
/// ../shared/reference/orleans-postgres.md, and the traps found there.
/// </summary>
public sealed class PostgresQueryContractTests : IAsyncLifetime
{
    private TestCluster _cluster = null!;

    private IServiceProvider Services => _cluster.Silos[0].Services;

    public async Task InitializeAsync() => _cluster = await TestCluster.StartAsync(1, new TestClusterOptions());

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    private static MembershipEntry Entry(int port, SiloStatus status = SiloStatus.Dead, DateTime? alive = null) => new()
    {
        SiloAddress = SiloAddress.New(new IPEndPoint(IPAddress.Loopback, port), 7),
        SiloName = $"fake-{port}",
        HostName = "test-host",
        Status = status,
        ProxyPort = 0,
        StartTime = DateTime.UtcNow.AddMinutes(-5),
        IAmAliveTime = alive ?? DateTime.UtcNow,
    };

    [Fact]
    public async Task The_silos_pool_prepares_a_statement_used_repeatedly_on_a_connection()
    {
        var dataSource = Services.GetRequiredService<Npgsql.NpgsqlDataSource>();
        const string Sql = "SELECT count(*) FROM inbox WHERE tenant_id = $1";
        await using var connection = await dataSource.OpenConnectionAsync();
        for (var i = 0; i < 3; i++)
        {
            await using var command = new Npgsql.NpgsqlCommand(Sql, connection) { Parameters = { new() { Value = "acme" } } };
            await command.ExecuteScalarAsync();
        }

        await using var prepared = new Npgsql.NpgsqlCommand("SELECT count(*) FROM pg_prepared_statements WHERE statement = $1", connection) { Parameters = { new() { Value = Sql } } };
        Assert.Equal(1L, await prepared.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Membership_rows_are_inserted_and_updated_with_the_table_version_all_or_nothing()
    {
        var table = Services.GetRequiredService<IMembershipTable>();
        var before = await table.ReadAllAsync(CancellationToken.None);                            // MembershipReadAllKey
        var silo = Assert.Single(before.Members, m => m.Item1.Status == SiloStatus.Active).Item1;
        Assert.Equal(_cluster.Silos[0].SiloAddress, silo.SiloAddress);

        // A stale version inserts nothing and bumps nothing: the function rolls back without relying on ASSERT.
        var entry = Entry(TestCluster.FreePort());
        Assert.False(await table.InsertRowAsync(entry, new TableVersion(before.Version.Version - 1, (before.Version.Version - 2).ToString()), CancellationToken.None));
        var unchanged = await table.ReadRowAsync(entry.SiloAddress, CancellationToken.None);        // MembershipReadRowKey
        Assert.Empty(unchanged.Members);
        Assert.True(unchanged.Version.Version >= before.Version.Version); // the version row comes back with no member

        var current = (await table.ReadAllAsync(CancellationToken.None)).Version;
        Assert.True(await table.InsertRowAsync(entry, current.Next(), CancellationToken.None));    // InsertMembershipKey
        var inserted = await table.ReadRowAsync(entry.SiloAddress, CancellationToken.None);
        var (row, etag) = Assert.Single(inserted.Members);
        Assert.Equal(("fake-" + entry.SiloAddress.Endpoint.Port, SiloStatus.Dead), (row.SiloName, row.Status));
        Assert.Equal(current.Version + 1, inserted.Version.Version);
        Assert.False(await table.InsertRowAsync(entry, inserted.Version.Next(), CancellationToken.None)); // the same row twice: no

        // UpdateMembershipKey: with the current version it writes status and suspicions; with a stale one, nothing.
        row.SuspectTimes = [Tuple.Create(silo.SiloAddress, DateTime.UtcNow)];
        Assert.True(await table.UpdateRowAsync(row, etag, inserted.Version.Next(), CancellationToken.None));
        var updated = await table.ReadRowAsync(entry.SiloAddress, CancellationToken.None);
        Assert.Single(Assert.Single(updated.Members).Item1.SuspectTimes!);
        Assert.False(await table.UpdateRowAsync(row, etag, inserted.Version.Next(), CancellationToken.None));
        Assert.Equal(updated.Version.Version, (await table.ReadAllAsync(CancellationToken.None)).Version.Version);

        // UpdateIAmAlivetimeKey: a heartbeat changes the row, never the version.
        var alive = DateTime.UtcNow.AddSeconds(30);
        row.IAmAliveTime = alive;
        await table.UpdateIAmAliveAsync(row, CancellationToken.None);
        var beat = await table.ReadRowAsync(entry.SiloAddress, CancellationToken.None);
        Assert.Equal(alive, Assert.Single(beat.Members).Item1.IAmAliveTime, TimeSpan.FromMilliseconds(2));
        Assert.Equal(updated.Version.Version, beat.Version.Version);
    }

    [Fact]
    public async Task Defunct_rows_go_only_when_dead_and_older_than_the_cutoff_and_a_cluster_can_be_deleted_whole()
    {
        var table = Services.GetRequiredService<IMembershipTable>();
        var old = Entry(TestCluster.FreePort(), alive: DateTime.UtcNow.AddDays(-2));
        var recent = Entry(TestCluster.FreePort());
        var oldButJoining = Entry(TestCluster.FreePort(), SiloStatus.Joining, DateTime.UtcNow.AddDays(-2));
        foreach (var entry in new[] { old, recent, oldButJoining })
        {
            Assert.True(await table.InsertRowAsync(entry, (await table.ReadAllAsync(CancellationToken.None)).Version.Next(), CancellationToken.None));
        }

        await table.CleanupDefunctSiloEntriesAsync(DateTimeOffset.UtcNow.AddDays(-1), CancellationToken.None); // CleanupDefunctSiloEntriesKey

        var left = (await table.ReadAllAsync(CancellationToken.None)).Members.Select(m => m.Item1.SiloAddress).ToList();
        Assert.DoesNotContain(old.SiloAddress, left);
        Assert.Contains(recent.SiloAddress, left);
        Assert.Contains(oldButJoining.SiloAddress, left);

        // Another cluster in the same database, deleted whole; this one is untouched.
        await _cluster.Database.ScalarAsync<long>(
            """
            WITH version AS (INSERT INTO OrleansMembershipVersionTable (DeploymentId) VALUES ('retired') RETURNING DeploymentId)
            INSERT INTO OrleansMembershipTable (DeploymentId, Address, Port, Generation, SiloName, HostName, Status, StartTime, IAmAliveTime)
            SELECT DeploymentId, '10.0.0.9', 11111, 1, 'old', 'old-host', 6, now(), now() FROM version RETURNING 1::bigint
            """);
        await table.DeleteMembershipTableEntriesAsync("retired", CancellationToken.None);          // DeleteMembershipTableEntriesKey
        Assert.Equal(0L, await _cluster.Database.ScalarAsync<long>("SELECT count(*) FROM OrleansMembershipTable WHERE DeploymentId = 'retired'"));
        Assert.Equal(0L, await _cluster.Database.ScalarAsync<long>("SELECT count(*) FROM OrleansMembershipVersionTable WHERE DeploymentId = 'retired'"));
        Assert.Equal(1L, await _cluster.Database.ScalarAsync<long>("SELECT count(*) FROM OrleansMembershipTable WHERE DeploymentId = 'test' AND Status = 3"));
    }

    private static Grains.CustomerState Named(string name) => new() { Exists = true, Name = name };

    [Fact]
    public async Task Grain_state_is_written_by_compare_and_swap_and_a_race_of_first_writes_leaves_one_row()
    {
        var storage = Services.GetRequiredKeyedService<IGrainStorage>(Grains.GrainStorage.Name);
        var grain = GrainId.Create("customer", "acme/contract-1");
        var state = new GrainState<Grains.CustomerState> { State = Named("first") };

        await storage.WriteStateAsync("customer", grain, state);                                 // WriteToStorageKey, insert
        Assert.Equal("1", state.ETag);
        var read = new GrainState<Grains.CustomerState>();
        await storage.ReadStateAsync("customer", grain, read);                                   // ReadFromStorageKey
        Assert.Equal(("first", "1", true), (read.State!.Name, read.ETag, read.RecordExists));

        state.State = Named("second");
        await storage.WriteStateAsync("customer", grain, state);                                 // update
        Assert.Equal("2", state.ETag);
        read.State = Named("stale");
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("customer", grain, read)); // ETag 1: conflict

        // The same key under another state name is another row (state names are per grain class, dotnet/orleans#8746).
        var other = new GrainState<Grains.CustomerState> { State = Named("other") };
        await storage.WriteStateAsync("knowledgebase", grain, other);
        await storage.ReadStateAsync("customer", grain, read);
        Assert.Equal("second", read.State!.Name);

        // Two first writes racing: one wins, the other gets a conflict, and reads still work (one row, not two).
        var racer = GrainId.Create("customer", "acme/contract-race");
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 8).Select(async i =>
        {
            try
            {
                await storage.WriteStateAsync("customer", racer, new GrainState<Grains.CustomerState> { State = Named($"racer-{i}") });
                return true;
            }
            catch (InconsistentStateException)
            {
                return false;
            }
        }));
        Assert.Equal(1, outcomes.Count(won => won));
        Assert.Equal(1L, await _cluster.Database.ScalarAsync<long>("SELECT count(*) FROM OrleansStorage WHERE GrainIdExtensionString = 'acme/contract-race'"));
        var winner = new GrainState<Grains.CustomerState>();
        await storage.ReadStateAsync("customer", racer, winner);
        Assert.StartsWith("racer-", winner.State!.Name, StringComparison.Ordinal);

        // Clearing deletes the row (DeleteStorageKey): nothing is left of an erased grain.
        await storage.ClearStateAsync("customer", grain, state);
        Assert.Null(state.ETag);
        Assert.Equal(0L, await _cluster.Database.ScalarAsync<long>("SELECT count(*) FROM OrleansStorage WHERE GrainTypeString = 'customer' AND GrainIdExtensionString = 'acme/contract-1'"));
        var gone = new GrainState<Grains.CustomerState>();
        await storage.ReadStateAsync("customer", grain, gone);
        Assert.False(gone.RecordExists);
    }

    [Fact]
    public async Task Reminders_are_upserted_read_by_grain_and_by_hash_range_and_removed_by_version()
    {
        var table = Services.GetRequiredService<IReminderTable>();
        await table.TestOnlyClearTable();                                                         // DeleteReminderRowsKey
        var longKey = new string('k', 300); // longer than the 150 characters of Orleans' own table
        var grains = new[] { GrainId.Create("customer", "acme/reminded"), GrainId.Create("customer", longKey) };
        var etags = new Dictionary<GrainId, string>();
        foreach (var grain in grains)
        {
            etags[grain] = (await table.UpsertRow(new ReminderEntry                               // UpsertReminderRowKey
            {
                GrainId = grain,
                ReminderName = "follow-up",
                StartAt = DateTime.UtcNow,
                Period = TimeSpan.FromMinutes(5),
            }))!;
        }

        var again = (await table.UpsertRow(new ReminderEntry { GrainId = grains[0], ReminderName = "follow-up", StartAt = DateTime.UtcNow, Period = TimeSpan.FromMinutes(10) }))!;
        Assert.NotEqual(etags[grains[0]], again);
        Assert.Equal(TimeSpan.FromMinutes(10), (await table.ReadRow(grains[0], "follow-up"))!.Period); // ReadReminderRowKey
        Assert.Equal(longKey, (await table.ReadRows(grains[1])).Reminders.Single().GrainId.Key.ToString()); // ReadReminderRowsKey

        // The ring: a range that does not wrap (ReadRangeRows1Key) and one that does (ReadRangeRows2Key) cover both.
        var all = (await table.ReadRows(0, 0)).Reminders.Count;
        var lower = (await table.ReadRows(0, 0x7FFFFFFF)).Reminders.Count;
        var upper = (await table.ReadRows(0x7FFFFFFF, 0)).Reminders.Count;
        Assert.Equal(2, all);
        Assert.Equal(2, lower + upper);

        Assert.False(await table.RemoveRow(grains[0], "follow-up", etags[grains[0]]));           // DeleteReminderRowKey, stale version
        Assert.True(await table.RemoveRow(grains[0], "follow-up", again));
        Assert.Null(await table.ReadRow(grains[0], "follow-up"));
    }
}
