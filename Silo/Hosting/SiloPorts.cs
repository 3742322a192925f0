using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace CustomerGrains.Silo.Hosting;

/// <summary>
/// The ports a silo listens on, settled before anything starts. Two silos on one host that advertise the same
/// address make the newer one declare the older dead ("Detected older version of myself") and the older one stop
/// itself, so a port already taken on this host stops the start, naming the port and the setting to change; and a
/// silo-to-silo port that cannot be derived from the public port is chosen free, to be advertised in the membership
/// table as it is.
/// </summary>
internal static class SiloPorts
{
    /// <summary>The silo-to-silo and client gateway (0: none) ports to listen on; throws
    /// <see cref="OptionsValidationException"/> with every port already taken.</summary>
    public static (int Silo, int Gateway) Resolve(IPAddress host, SiloOptions silo, OrleansSettings orleans)
    {
        var failures = new List<string>();
        if (silo.Port != 0 && !IsFree(host, silo.Port))
        {
            failures.Add($"Silo:Port {silo.Port} is already in use on {host}: another silo or program listens there. Start this silo with another port (run.sh --port, or Silo:Port).");
        }

        if (silo.ManagementPort != 0 && !IsFree(host, silo.ManagementPort))
        {
            failures.Add($"Silo:ManagementPort {silo.ManagementPort} is already in use on {host}: set Silo:ManagementPort to a free port.");
        }

        var siloPort = orleans.SiloPortFor(silo.Port) ?? FreePort(host, silo.Port);
        if (!IsFree(host, siloPort))
        {
            failures.Add(orleans.SiloPort != 0
                ? $"Orleans:SiloPort {siloPort} is already in use on {host}: set Orleans:SiloPort to a free port."
                : $"The silo-to-silo port {siloPort} (11111 + (Silo:Port {silo.Port} - 8080)) is already in use on {host}: start this silo with another Silo:Port, or set Orleans:SiloPort to a free port.");
        }

        var gatewayPort = orleans.ClientGatewayPort;
        if (gatewayPort != 0 && (gatewayPort == siloPort || gatewayPort == silo.Port || !IsFree(host, gatewayPort)))
        {
            failures.Add($"Orleans:GatewayPort {gatewayPort} is already in use on {host}: set Orleans:GatewayPort to a free port, or 0 for no client gateway.");
        }

        return failures.Count == 0 ? (siloPort, gatewayPort) : throw new OptionsValidationException(OrleansSettings.SectionName, typeof(OrleansSettings), failures);
    }

    private static bool IsFree(IPAddress host, int port)
    {
        try
        {
            using var listener = new Socket(host.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(host, port));
            listener.Listen();
            return true;
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.AddressAlreadyInUse or SocketError.AccessDenied)
        {
            return false;
        }
    }

    /// <summary>A free port of <see cref="FreeRange"/>, looked for from a point the public port decides. Not the OS's
    /// ephemeral range (32768 and up on Linux): a port from there can be handed to another program's connection or
    /// listener between this check and Orleans' bind.</summary>
    private static int FreePort(IPAddress host, int publicPort)
    {
        for (var i = 0; i < FreeRange.Count; i++)
        {
            var port = FreeRange.First + (publicPort * 7919 + i) % FreeRange.Count;
            if (IsFree(host, port))
            {
                return port;
            }
        }

        throw new OptionsValidationException(OrleansSettings.SectionName, typeof(OrleansSettings),
            [$"No port of {FreeRange.First}-{FreeRange.First + FreeRange.Count - 1} is free on {host} for the silo: set Orleans:SiloPort."]);
    }

    /// <summary>Where silo ports are chosen when they cannot be derived: above the derived ones (11111-12110), below
    /// the OS's ephemeral ports.</summary>
    public static readonly (int First, int Count) FreeRange = (12111, 20000);
}
