using System.Net;
using System.Net.Sockets;

namespace CustomerGrains.Testing;

/// <summary>
/// A loopback TCP forwarder in front of a real server, which a test can cut (every connection dropped, new ones
/// refused) and restore: how a test loses PostgreSQL under a running silo without stopping the shared server.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly IPEndPoint _target;
    private readonly Lock _lock = new();
    private readonly List<TcpClient> _connections = [];
    private readonly CancellationTokenSource _stop = new();
    private TcpListener? _listener;
    private Task _accepting = Task.CompletedTask;

    public TcpProxy(IPEndPoint target)
    {
        _target = target;
        Port = Start(0);
    }

    public int Port { get; }

    public bool IsCut { get; private set; }

    /// <summary>Drops every open connection and stops listening: clients see the server gone.</summary>
    public void Cut()
    {
        lock (_lock)
        {
            IsCut = true;
            _listener?.Stop();
            _listener = null;
            foreach (var connection in _connections)
            {
                connection.Client.Close(0);
            }

            _connections.Clear();
        }
    }

    /// <summary>Listens again on the same port.</summary>
    public void Restore()
    {
        lock (_lock)
        {
            IsCut = false;
        }

        Start(Port);
    }

    private int Start(int port)
    {
        var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Start();
        lock (_lock)
        {
            _listener = listener;
        }

        _accepting = AcceptAsync(listener);
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task AcceptAsync(TcpListener listener)
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient inbound;
            try
            {
                inbound = await listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
            {
                return;
            }

            _ = PipeAsync(inbound);
        }
    }

    private async Task PipeAsync(TcpClient inbound)
    {
        using var outbound = new TcpClient();
        try
        {
            await outbound.ConnectAsync(_target, _stop.Token);
            lock (_lock)
            {
                if (IsCut)
                {
                    inbound.Dispose();
                    return;
                }

                _connections.Add(inbound);
                _connections.Add(outbound);
            }

            var a = inbound.GetStream().CopyToAsync(outbound.GetStream(), _stop.Token);
            var b = outbound.GetStream().CopyToAsync(inbound.GetStream(), _stop.Token);
            await Task.WhenAny(a, b);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
        finally
        {
            lock (_lock)
            {
                _connections.Remove(inbound);
                _connections.Remove(outbound);
            }

            inbound.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        Cut();
        await _stop.CancelAsync();
        await _accepting;
        _stop.Dispose();
    }
}
