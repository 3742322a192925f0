using System.Net;
using System.Text;
using CustomerGrains.Testing;

namespace CustomerGrains.Runtime.Tests;

public sealed class ClusterEndpointTests(SingleSiloFixture silo) : IClassFixture<SingleSiloFixture>
{
    private static readonly HttpClient Http2 = new();

    private Uri CallUri => new(silo.Cluster.Silos[0].Endpoints.ClusterUrl, "/_cluster/call");

    [Fact]
    public async Task A_call_without_the_cluster_key_gets_401_and_runs_nothing()
    {
        foreach (var key in new[] { null, "wrong-key-wrong-key-wrong" })
        {
            using var response = await Http2.SendAsync(Call(Envelope("counter", "intruder", "ICounterGrain.AddAsync/1", "[1]"), key));
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        Assert.Null(await silo.Cluster.Database.ScalarAsync<string>("SELECT grain_key FROM grain_state WHERE grain_key = 'intruder'"));
    }

    [Fact]
    public async Task A_call_with_the_key_runs_the_grain()
    {
        using var response = await Http2.SendAsync(Call(Envelope("counter", "wire", "ICounterGrain.AddAsync/1", "[41]")));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("1", await response.Content.ReadAsStringAsync());
        Assert.Equal([41], await silo.Grains.GetGrain<ICounterGrain>("wire").GetOperationsAsync());
    }

    [Theory]
    [InlineData("[1]", "must be a JSON object")]
    [InlineData("{\"type\":\"counter\",\"key\":\"malformed\",\"method\":\"ICounterGrain.AddAsync/1\",\"args\":{\"not\":\"an array\"}}", "must be a JSON array")]
    [InlineData("{\"type\":\"counter\",\"key\":\"malformed\",\"method\":\"ICounterGrain.AddAsync/1\",\"args\":[1,2]}", "takes 1 argument")]
    [InlineData("{\"type\":\"counter\",\"key\":\"malformed\",\"method\":\"ICounterGrain.AddAsync/1\",\"args\":[\"text\"]}", "Argument 0 of ICounterGrain.AddAsync/1")]
    [InlineData("{\"type\":\"counter\",\"key\":\"malformed\",\"method\":\"ICounterGrain.AddAsync/1\",\"args\":[1", "Malformed grain call")]
    [InlineData("{\"type\":\"counter\",\"key\":\"malformed\",\"args\":[1]}", "must come after")]
    [InlineData("{\"type\":\"counter\",\"method\":\"ICounterGrain.AddAsync/1\",\"args\":[1]}", "needs the properties type, key")]
    public async Task A_malformed_call_gets_400_saying_what_is_wrong(string body, string expected)
    {
        using var response = await Http2.SendAsync(Call(body));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(expected, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Null(await silo.Cluster.Database.ScalarAsync<string>("SELECT grain_key FROM grain_state WHERE grain_key = 'malformed'"));
    }

    [Theory]
    [InlineData("nosuchtype", "ICounterGrain.AddAsync/1", "no grain type 'nosuchtype'")]
    [InlineData("counter", "ICounterGrain.Explode/0", "no method 'ICounterGrain.Explode/0'")]
    public async Task An_unknown_grain_type_or_method_gets_an_error_naming_it(string type, string method, string expected)
    {
        using var response = await Http2.SendAsync(Call(Envelope(type, "x", method, "[]")));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains(expected, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cluster_routes_do_not_answer_on_the_public_endpoint()
    {
        using var client = silo.Cluster.Silos[0].CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/_cluster/call") { Content = new StringContent("[1]") };
        request.Headers.Add("x-cluster-key", TestCluster.ClusterKey);
        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    private static string Envelope(string type, string key, string method, string args) =>
        $"{{\"type\":\"{type}\",\"key\":\"{key}\",\"method\":\"{method}\",\"view\":0,\"args\":{args}}}";

    private HttpRequestMessage Call(string body, string? clusterKey = TestCluster.ClusterKey)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, CallUri)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        if (clusterKey is not null)
        {
            request.Headers.Add("x-cluster-key", clusterKey);
        }

        return request;
    }
}
