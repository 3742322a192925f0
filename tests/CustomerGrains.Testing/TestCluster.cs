using System.Net;
using System.Net.Sockets;
using CustomerGrains.Silo.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Runtime;

namespace CustomerGrains.Testing;

/// <summary>How a test cluster's silos are built.</summary>
public sealed class TestClusterOptions
{
    /// <summary>Configuration applied to every silo on top of the test defaults (short membership timings).</summary>
    public Dictionary<string, string?> Configuration { get; } = [];

    /// <summary>More services or configuration for each silo (the gateway, a manual clock, ...).</summary>
    public Action<WebApplicationBuilder>? ConfigureSilo { get; set; }

    /// <summary>More endpoints for each silo.</summary>
    public Action<WebApplication>? ConfigureApp { get; set; }
}

/// <summary>One silo of a <see cref="TestCluster"/>: a real host (Orleans silo and Kestrel) on loopback ports.</summary>
public sealed class TestSilo(string name, WebApplication app)
{
    public string Name { get; } = name;

    public WebApplication App { get; } = app;

    public IServiceProvider Services => App.Services;

    public IGrainFactory GrainFactory => Services.GetRequiredService<IGrainFactory>();

    /// <summary>This silo's address in the Orleans cluster.</summary>
    public SiloAddress SiloAddress => Services.GetRequiredService<ILocalSiloDetails>().SiloAddress;

    /// <summary>The public HTTP endpoint: webhooks, the agent API, health.</summary>
    public Uri PublicUrl => new(Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    public HttpClient CreateClient() => new() { BaseAddress = PublicUrl };
}

/// <summary>
/// N Orleans silos in one test process, each a real ASP.NET Core host with Orleans on loopback ports, clustered through
/// the ADO.NET membership table of a PostgreSQL database created for the test. Silos can be stopped gracefully (a real
/// kill -9 needs a process: <see cref="SiloProcess"/>), and added; none can hang a test (<see cref="StopTimeout"/>).
/// </summary>
public sealed class TestCluster : IAsyncDisposable
{
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

    /// <summary>How long a test silo may take to stop before the test abandons it.</summary>
    public static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(20);

    /// <summary>Silos abandoned because they did not stop within <see cref="StopTimeout"/>, in this test process.</summary>
    public static int Abandoned => _abandoned;

    private static int _abandoned;

    /// <summary>Stops a silo the way SIGTERM does: deactivate its grains, leave the cluster.</summary>
    public async Task StopSiloAsync(TestSilo silo)
    {
        await StopWithinAsync(silo, "stop", () => silo.App.StopAsync());
        _silos.Remove(silo);
    }

    /// <summary>
    /// Stops and disposes a silo, or abandons it after <see cref="StopTimeout"/>, saying so: an in-process silo's
    /// disposal can wait forever on a stateless worker with calls in flight (Orleans pull request 10290), and a test
    /// that waits on it hangs the whole run. An abandoned silo keeps its ports until the test process ends.
    /// </summary>
    private static async Task StopWithinAsync(TestSilo silo, string how, Func<Task> stop)
    {
        var stopping = Task.Run(async () =>
        {
            await stop();
            await silo.App.DisposeAsync();
        });
        if (await Task.WhenAny(stopping, Task.Delay(StopTimeout)) != stopping)
        {
            Interlocked.Increment(ref _abandoned);
            _ = stopping.ContinueWith(t => t.Exception, TaskScheduler.Default); // observed, whenever it ends
            await Console.Error.WriteLineAsync($"TestCluster: {silo.Name} did not {how} within {StopTimeout.TotalSeconds} s and was abandoned (its disposal hangs).");
            return;
        }

        await stopping;
    }

    /// <summary>Waits until every running silo sees exactly the running silos active.</summary>
    public async Task WaitForStableViewAsync(TimeSpan? within = null)
    {
        var ok = await Eventually.TrueAsync(() =>
        {
            var expected = _silos.Select(s => s.SiloAddress).OrderBy(a => a.ToString()).ToArray();
            return _silos.All(s => s.Services.GetRequiredService<IClusterMembershipService>().CurrentSnapshot.Members.Values
                .Where(m => m.Status == SiloStatus.Active).Select(m => m.SiloAddress).OrderBy(a => a.ToString()).SequenceEqual(expected));
        }, within ?? TimeSpan.FromSeconds(30));
        if (!ok)
        {
            throw new TimeoutException("The silos did not agree on the membership in time.");
        }
    }

    /// <summary>The silo where <paramref name="grain"/> is active now, if any.</summary>
    public async Task<TestSilo?> HostOfAsync(IAddressable grain)
    {
        var address = await _silos[0].GrainFactory.GetGrain<IManagementGrain>(0).GetActivationAddress(grain);
        return _silos.FirstOrDefault(s => s.SiloAddress.Equals(address));
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

        builder.Configuration.AddInMemoryCollection(Defaults(Database.ConnectionString, FreePort()));
        builder.Configuration.AddInMemoryCollection(_options.Configuration);
        builder.AddCustomerGrainsSilo();
        _options.ConfigureSilo?.Invoke(builder);

        var app = builder.Build();
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

    /// <summary>A test silo's configuration: loopback, a free silo port, no client gateway, membership timings short
    /// enough that tests of failure take seconds.</summary>
    public static Dictionary<string, string?> Defaults(string connectionString, int siloPort) => new()
    {
        ["Database:ConnectionString"] = connectionString,
        ["Silo:Host"] = "127.0.0.1",
        ["Silo:Port"] = "0",
        ["Orleans:ClusterId"] = "test",
        ["Orleans:ServiceId"] = "test",
        ["Orleans:SiloPort"] = siloPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Orleans:GatewayPort"] = "0",
        ["Orleans:TableRefreshTimeout"] = "00:00:01",
        ["Orleans:IAmAliveTablePublishTimeout"] = "00:00:02",
        // The silo's appsettings.json names the English-Russian dictionary and the thesauri; loading them takes a
        // test's database a few seconds, so only the tests of matching with them ask for them.
        ["Knowledge:EnglishRussianDictionary"] = "",
        ["Knowledge:Thesauri:en"] = "",
        ["Knowledge:Thesauri:ru"] = "",
        ["Knowledge:Thesauri:uk"] = "",
        ["Knowledge:UkrainianRussian"] = "",
        ["Knowledge:RussianHunspell"] = "",
        ["Knowledge:UkrainianHunspell"] = "",
    };

    private static readonly HashSet<int> HandedOut = [];

    /// <summary>A TCP port nothing listens on now, and never handed out before in this process: the kernel may give
    /// the port it just released to the next ask, so two asks in a row (a silo's public and Orleans ports) could
    /// otherwise get the same one, and the silo fails to bind its second listener.</summary>
    public static int FreePort()
    {
        while (true)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            lock (HandedOut)
            {
                if (HandedOut.Add(port))
                {
                    return port;
                }
            }
        }
    }

    /// <summary>Stops every silo gracefully, all at once, each bounded by <see cref="StopTimeout"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        var silos = _silos.ToList();
        _silos.Clear();
        await Task.WhenAll(silos.Select(silo => StopWithinAsync(silo, "stop", () => silo.App.StopAsync())));

        if (_ownsDatabase)
        {
            await Database.DisposeAsync();
        }
    }
}
