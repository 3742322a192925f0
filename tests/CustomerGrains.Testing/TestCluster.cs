using System.Reflection;
using CustomerGrains.Runtime;
using CustomerGrains.Runtime.Hosting;
using CustomerGrains.Runtime.Membership;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CustomerGrains.Testing;

/// <summary>How a test cluster's silos are built.</summary>
public sealed class TestClusterOptions
{
    /// <summary>The assemblies whose grains every silo hosts.</summary>
    public List<Assembly> GrainAssemblies { get; } = [];

    /// <summary>Configuration applied to every silo on top of the test defaults (short membership timeouts).</summary>
    public Dictionary<string, string?> Configuration { get; } = [];

    /// <summary>More services or configuration for each silo (the gateway, a manual clock, ...).</summary>
    public Action<WebApplicationBuilder>? ConfigureSilo { get; set; }

    /// <summary>More endpoints for each silo.</summary>
    public Action<WebApplication>? ConfigureApp { get; set; }
}

/// <summary>One silo of a <see cref="TestCluster"/>: a real host with real Kestrel endpoints on loopback.</summary>
public sealed class TestSilo(string name, WebApplication app)
{
    public string Name { get; } = name;

    public WebApplication App { get; } = app;

    public IServiceProvider Services => App.Services;

    public IGrainFactory GrainFactory => Services.GetRequiredService<IGrainFactory>();

    public SiloLifetime Lifetime => Services.GetRequiredService<SiloLifetime>();

    public MembershipService Membership => Services.GetRequiredService<MembershipService>();

    public SiloEndpoints Endpoints => Services.GetRequiredService<SiloEndpoints>();

    /// <summary>This silo's membership id once joined (<c>name@generation</c>).</summary>
    public string SiloId => Membership.Self?.SiloId ?? throw new InvalidOperationException($"{Name} has not joined.");

    public HttpClient CreateClient() => new() { BaseAddress = Endpoints.PublicUrl };
}

/// <summary>
/// N silos in one test process, each a real ASP.NET Core host on loopback ports, sharing a PostgreSQL database
/// created for the test. Silos can be killed without ceremony, stopped gracefully, and added.
/// </summary>
public sealed class TestCluster : IAsyncDisposable
{
    public const string ClusterKey = "test-cluster-key-0123456789";
    private readonly TestClusterOptions _options;
    private readonly List<TestSilo> _silos = [];
    private readonly bool _ownsDatabase;
    private int _nextSilo;

    private TestCluster(TestDatabase database, bool ownsDatabase, TestClusterOptions options)
    {
        Database = database;
        _ownsDatabase = ownsDatabase;
        _options = options;
    }

    public TestDatabase Database { get; }

    /// <summary>The silos running now, in start order.</summary>
    public IReadOnlyList<TestSilo> Silos => _silos;

    /// <summary>Starts <paramref name="siloCount"/> silos on a new database (or <paramref name="database"/>, which
    /// the caller then owns) and waits until each sees all of them active.</summary>
    public static async Task<TestCluster> StartAsync(int siloCount, TestClusterOptions options, TestDatabase? database = null)
    {
        var cluster = new TestCluster(database ?? await TestDatabase.CreateAsync(), database is null, options);
        try
        {
            for (var i = 0; i < siloCount; i++)
            {
                await cluster.StartSiloAsync(waitForViews: false);
            }

            await cluster.WaitForStableViewAsync();
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts one more silo and waits until every silo sees it active.</summary>
    public Task<TestSilo> AddSiloAsync() => StartSiloAsync(waitForViews: true);

    /// <summary>Imitates SIGKILL: the silo stops writing and answering at once, without draining or leaving the
    /// cluster, and its endpoints go away. The others find out only through its missing heartbeats.</summary>
    public async Task KillSiloAsync(TestSilo silo)
    {
        silo.Lifetime.Kill();
        _silos.Remove(silo);
        using var now = new CancellationTokenSource();
        await now.CancelAsync();
        try
        {
            await silo.App.StopAsync(now.Token);
        }
        catch (OperationCanceledException)
        {
        }

        await silo.App.DisposeAsync();
    }

    /// <summary>Stops a silo the way SIGTERM does: drain, tell the cluster, leave.</summary>
    public async Task StopSiloAsync(TestSilo silo)
    {
        await silo.App.StopAsync();
        _silos.Remove(silo);
        await silo.App.DisposeAsync();
    }

    /// <summary>Waits until every running silo's view has exactly the running silos active.</summary>
    public async Task WaitForStableViewAsync(TimeSpan? within = null)
    {
        var ok = await Eventually.TrueAsync(() =>
        {
            var expected = _silos.Select(s => s.SiloId).Order().ToArray();
            return _silos.All(s => s.Membership.View.Active.Select(a => a.SiloId).Order().SequenceEqual(expected));
        }, within ?? TimeSpan.FromSeconds(30));
        if (!ok)
        {
            throw new TimeoutException("The silos did not agree on the membership in time.");
        }
    }

    private async Task<TestSilo> StartSiloAsync(bool waitForViews)
    {
        var name = $"silo{_nextSilo++}";
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.Logging.ClearProviders();
        builder.Logging.AddFilter(level => level >= LogLevel.Warning);
        if (Environment.GetEnvironmentVariable("CUSTOMERGRAINS_TEST_LOGS") == "1")
        {
            builder.Logging.AddSimpleConsole(console => console.SingleLine = true); // warnings and errors of every silo
        }
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:ConnectionString"] = Database.ConnectionString,
            ["Cluster:ClusterId"] = "test",
            ["Cluster:ClusterKey"] = ClusterKey,
            ["Cluster:SiloName"] = name,
            ["Cluster:RefreshInterval"] = "00:00:00.200",
            ["Cluster:DeathTimeout"] = "00:00:02",
            ["Silo:Host"] = "127.0.0.1",
            ["Silo:Port"] = "0",
            ["Silo:ClusterPort"] = "0",
        });
        builder.Configuration.AddInMemoryCollection(_options.Configuration);
        builder.AddGrainRuntime();
        builder.Services.AddGrains([.. _options.GrainAssemblies]);
        _options.ConfigureSilo?.Invoke(builder);

        var app = builder.Build();
        app.MapClusterApi();
        _options.ConfigureApp?.Invoke(app);
        await app.StartAsync();

        var silo = new TestSilo(name, app);
        _silos.Add(silo);
        if (waitForViews)
        {
            await WaitForStableViewAsync();
        }

        return silo;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var silo in _silos.ToList())
        {
            await KillSiloAsync(silo);
        }

        if (_ownsDatabase)
        {
            await Database.DisposeAsync();
        }
    }
}
