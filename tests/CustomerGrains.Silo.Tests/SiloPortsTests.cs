using System.Globalization;
using System.Net;
using System.Net.Sockets;
using CustomerGrains.Silo.Hosting;

namespace CustomerGrains.Silo.Tests;

/// <summary>Silos on one host never advertise the same address: ports derived or chosen free, and a taken one refused.</summary>
public sealed class SiloPortsTests
{
    [Theory]
    [InlineData(8080, 11111)]
    [InlineData(8081, 11112)]
    [InlineData(9079, 12110)]
    public void A_public_port_of_8080_to_9079_derives_its_silo_port(int publicPort, int siloPort) =>
        Assert.Equal(siloPort, new OrleansSettings().SiloPortFor(publicPort));

    [Theory]
    [InlineData(0)]
    [InlineData(8079)]
    [InlineData(9080)]
    [InlineData(18281)]
    public void Any_other_public_port_leaves_the_silo_port_to_be_chosen_free(int publicPort)
    {
        Assert.Null(new OrleansSettings().SiloPortFor(publicPort));
        Assert.Equal(4242, new OrleansSettings { SiloPort = 4242 }.SiloPortFor(publicPort)); // configured wins
    }

    [Fact]
    public async Task Silos_on_public_ports_outside_8080_to_9079_each_advertise_their_own_silo_port_and_form_one_cluster()
    {
        await using var database = await TestDatabase.CreateAsync();
        var derived = new Dictionary<string, string?> { ["Orleans:SiloPort"] = "0" };
        await using var first = await SiloProcess.StartAsync(database, derived);
        await using var second = await SiloProcess.StartAsync(database, derived);
        await using var third = await SiloProcess.StartAsync(database, derived);

        var active = await Eventually.TrueAsync(async () =>
            await database.ScalarAsync<long>("SELECT count(DISTINCT port) FROM OrleansMembershipTable WHERE status = 3") == 3
            && await database.ScalarAsync<long>("SELECT count(*) FROM OrleansMembershipTable WHERE status <> 3") == 0,
            TimeSpan.FromSeconds(30));
        Assert.True(active, first.Output + second.Output + third.Output);
        // And no Orleans client gateway: nothing outside the silos can make grain calls (ProxyPort 0: none).
        Assert.Equal(0L, await database.ScalarAsync<long>("SELECT count(*) FROM OrleansMembershipTable WHERE coalesce(ProxyPort, 0) <> 0"));
        Assert.All(new[] { first, second, third }, silo => Assert.False(silo.HasExited, silo.Output));
    }

    [Fact]
    public async Task A_silo_whose_configured_silo_port_is_taken_refuses_to_start_naming_the_port_and_setting()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var environment = TestCluster.Defaults("Host=127.0.0.1;Port=1;Username=nobody;Database=none", port);
        environment["Silo:Port"] = TestCluster.FreePort().ToString(CultureInfo.InvariantCulture);

        var (exitCode, output) = await SiloProcess.RunToExitAsync(environment);

        Assert.Equal(2, exitCode); // as for every configuration error
        Assert.Contains($"Orleans:SiloPort {port} is already in use", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_silo_whose_derived_silo_port_is_taken_refuses_to_start_naming_the_public_port_to_change()
    {
        // A public port in 8080-9079 whose own port and derived silo port are both free now; then the derived one taken.
        var publicPort = Enumerable.Range(8900, 179).First(p => IsFree(p) && IsFree(11111 + (p - 8080)));
        using var taken = new TcpListener(IPAddress.Loopback, 11111 + (publicPort - 8080));
        taken.Start();
        var environment = TestCluster.Defaults("Host=127.0.0.1;Port=1;Username=nobody;Database=none", 0);
        environment["Silo:Port"] = publicPort.ToString(CultureInfo.InvariantCulture);

        var (exitCode, output) = await SiloProcess.RunToExitAsync(environment);

        Assert.Equal(2, exitCode);
        Assert.Contains($"The silo-to-silo port {11111 + (publicPort - 8080)} (11111 + (Silo:Port {publicPort} - 8080)) is already in use", output, StringComparison.Ordinal);
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
