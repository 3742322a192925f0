using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using CustomerGrains.Runtime.Activation;
using CustomerGrains.Runtime.Configuration;
using CustomerGrains.Runtime.Membership;
using Microsoft.Extensions.Options;

namespace CustomerGrains.Runtime.Calls;

/// <summary>What came back from another silo: a result, or "not run there" (retry elsewhere).</summary>
internal readonly record struct RemoteOutcome<TResult>(bool Completed, TResult Result);

/// <summary>Sends grain calls to other silos over HTTP/2 with prior knowledge (h2c), multiplexed on few connections.</summary>
internal sealed class RemoteGrainClient : IDisposable
{
    private static readonly MediaTypeHeaderValue JsonContentType = new("application/json");
    private readonly HttpClient _http;
    private readonly string _clusterKey;

    public RemoteGrainClient(IOptions<ClusterOptions> options)
    {
        _clusterKey = options.Value.ClusterKey!;
        _http = new HttpClient(new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            ConnectTimeout = TimeSpan.FromSeconds(2),
            KeepAlivePingDelay = TimeSpan.FromSeconds(5),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(5),
            UseProxy = false,
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    /// <summary>The client silos use for each other, also for the transport benchmark.</summary>
    public HttpClient Http => _http;

    public async Task<RemoteOutcome<TResult>> InvokeAsync<TResult>(
        SiloInfo target, GrainId grainId, GrainMethod<TResult> method, object?[] arguments, bool forwarded, long viewVersion)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, target.CallUri)
        {
            // Set on the message itself: HttpClient's defaults apply only to its convenience methods.
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ReadOnlyMemoryContent(ClusterProtocol.WriteCall(grainId, method, arguments, viewVersion, forwarded)),
        };
        request.Content.Headers.ContentType = JsonContentType;
        request.Headers.TryAddWithoutValidation(ClusterProtocol.ClusterKeyHeader, _clusterKey);

        // No per-request deadline: the caller's own timeout abandons the call, the receiving silo bounds it by its
        // call timeout and answers 504, and HTTP/2 keep-alive pings drop a connection to a silo that went silent.
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead);
        }
        catch (HttpRequestException ex) when (ex.HttpRequestError == HttpRequestError.ConnectionError)
        {
            return default; // never connected: the call did not run
        }
        catch (HttpRequestException ex)
        {
            throw new SiloUnavailableException($"The connection to silo {target.SiloId} failed during {method.WireName} on grain {grainId}; whether it ran is unknown.", ex);
        }

        using (response)
        {
            switch (response.StatusCode)
            {
                case HttpStatusCode.OK:
                    // The content is buffered already (ResponseContentRead): deserialize it synchronously.
                    var body = await response.Content.ReadAsByteArrayAsync();
                    return new(true, JsonSerializer.Deserialize<TResult>(body, GrainJson.Options)!);
                case HttpStatusCode.NoContent:
                    return new(true, default!);
                case HttpStatusCode.MisdirectedRequest or HttpStatusCode.ServiceUnavailable:
                    return default;
                case HttpStatusCode.Unauthorized:
                    throw new InvalidOperationException($"Silo {target.SiloId} rejected this silo's cluster key; every silo of a cluster must have the same Cluster:ClusterKey.");
                default:
                    throw await ReadProblemAsync(response, target, grainId, method);
            }
        }
    }

    private static async Task<Exception> ReadProblemAsync(HttpResponseMessage response, SiloInfo target, GrainId grainId, GrainMethod method)
    {
        string? type = null;
        string? detail = null;
        try
        {
            using var problem = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync());
            if (problem.RootElement.TryGetProperty("detail", out var detailElement))
            {
                detail = detailElement.GetString();
            }

            if (problem.RootElement.TryGetProperty(ClusterProtocol.ExceptionTypeExtension, out var typeElement))
            {
                type = typeElement.GetString();
            }
        }
        catch (JsonException)
        {
        }

        detail ??= $"Silo {target.SiloId} answered {(int)response.StatusCode} to {method.WireName} on grain {grainId}.";
        return response.StatusCode switch
        {
            HttpStatusCode.BadRequest when type is null => new ArgumentException(detail),
            HttpStatusCode.NotFound when type is null => new UnknownGrainException(detail),
            HttpStatusCode.GatewayTimeout => new GrainCallTimeoutException(detail),
            _ => ClusterProtocol.RecreateException(type, detail),
        };
    }

    public void Dispose() => _http.Dispose();
}
