using System.Net;
using CustomerGrains.Runtime.Configuration;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace CustomerGrains.Runtime.Hosting;

/// <summary>
/// The silo's two Kestrel endpoints. Kestrel speaks HTTP/2 without TLS only on an endpoint that speaks nothing
/// else (it answers HTTP_1_1_REQUIRED otherwise), so silo-to-silo calls get their own HTTP/2 endpoint while
/// the public one keeps HTTP/1.1 for CRMs, agents and curl.
/// </summary>
public sealed class SiloEndpoints
{
    private ListenOptions? _public;
    private ListenOptions? _cluster;

    /// <summary>The public endpoint's URL, once Kestrel has bound it.</summary>
    public Uri PublicUrl => UrlOf(_public);

    /// <summary>The cluster endpoint's URL as this silo listens on it.</summary>
    public Uri ClusterUrl => UrlOf(_cluster);

    public int PublicPort => _public?.IPEndPoint?.Port ?? 0;

    public int ClusterPort => _cluster?.IPEndPoint?.Port ?? -1;

    internal void Configure(KestrelServerOptions kestrel, SiloOptions options)
    {
        var address = options.Host == "localhost" ? IPAddress.Loopback : IPAddress.Parse(options.Host);
        kestrel.Listen(address, options.Port, listen =>
        {
            listen.Protocols = HttpProtocols.Http1;
            _public = listen;
        });
        kestrel.Listen(address, options.ClusterPort, listen =>
        {
            listen.Protocols = HttpProtocols.Http2;
            _cluster = listen;
        });
    }

    private static Uri UrlOf(ListenOptions? listen)
    {
        var endpoint = listen?.IPEndPoint ?? throw new InvalidOperationException("The silo's endpoints are not bound yet.");
        var host = endpoint.Address.Equals(IPAddress.Any) || endpoint.Address.Equals(IPAddress.IPv6Any)
            ? Dns.GetHostName()
            : endpoint.Address.ToString();
        return new UriBuilder(Uri.UriSchemeHttp, host, endpoint.Port).Uri;
    }
}
