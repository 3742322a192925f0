using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CustomerGrains.Silo.Tests;

/// <summary>With Orleans:TlsCertificatePath, silos talk mutual TLS: a cluster forms over it, and the silo port takes
/// only a peer showing the cluster's certificate.</summary>
public sealed class SiloTlsTests
{
    private static X509Certificate2 SelfSigned(string name)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pfx, "pw"), "pw");
    }

    private static async Task<bool> HandshakeAsync(int port, X509Certificate2 client)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port);
        await using var tls = new SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
        try
        {
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "silo", ClientCertificates = [client] });

            // With TLS 1.3 the server judges the client's certificate after the client's side of the handshake is
            // done: a refusal shows as the connection closing. Kept open (or data from the silo): taken.
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            return await tls.ReadAsync(new byte[16], timeout.Token) > 0;
        }
        catch (OperationCanceledException)
        {
            return true;
        }
        catch (Exception ex) when (ex is System.Security.Authentication.AuthenticationException or IOException)
        {
            return false;
        }
    }

    [Fact]
    public async Task Silos_with_the_cluster_certificate_form_a_cluster_over_mutual_tls_and_a_stranger_is_refused()
    {
        using var certificate = SelfSigned("customergrains-cluster");
        var path = Path.Combine(ScratchFolder.Create("cg-tls-"), "cluster.pfx");
        await File.WriteAllBytesAsync(path, certificate.Export(X509ContentType.Pfx, "secret"));
        var options = new TestClusterOptions();
        options.Configuration["Orleans:TlsCertificatePath"] = path;
        options.Configuration["Orleans:TlsCertificatePassword"] = "secret";

        await using var cluster = await TestCluster.StartAsync(2, options); // waits until both see both active

        var siloPort = cluster.Silos[0].SiloAddress.Endpoint.Port;
        using var stranger = SelfSigned("somebody-else");
        Assert.True(await HandshakeAsync(siloPort, certificate), "the silo port does not speak TLS with the cluster's certificate");
        Assert.False(await HandshakeAsync(siloPort, stranger), "the silo port took a certificate that is not the cluster's");
    }
}
