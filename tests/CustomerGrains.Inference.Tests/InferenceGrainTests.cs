using CustomerGrains.Grains;
using CustomerGrains.Inference.Generation;
using CustomerGrains.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CustomerGrains.Inference.Tests;

/// <summary>The pool behind its stateless worker grain, in a real silo serving the tiny model as default.</summary>
public sealed class InferenceGrainTests
{
    private static TestClusterOptions Options(string modelPath)
    {
        var options = new TestClusterOptions();
        options.Configuration["Inference:Models:default:Path"] = modelPath;
        options.ConfigureSilo = builder =>
        {
            builder.Services.AddCustomerGrains();
            builder.Services.AddInference(builder.Configuration);
        };
        return options;
    }

    [Fact]
    public async Task A_grain_generates_through_its_silos_pool_and_refuses_bad_requests_clearly()
    {
        var options = Options(TestModels.TinyFixture());
        options.Configuration["Inference:Models:genai:Path"] = TestModels.GenAiInt4(); // an onnxruntime-genai builder output beside it
        await using var cluster = await TestCluster.StartAsync(1, options);
        var grains = cluster.Silos[0].GrainFactory;

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => grains.GetGrain<IInferenceGrain>("default").GenerateAsync(new InferenceRequest($"Where is my order {i}?", MaxNewTokens: 12))));
        var genai = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => grains.GetGrain<IInferenceGrain>("genai").GenerateAsync(new InferenceRequest($"Where is my order {i}?", MaxNewTokens: 12))));
        var invalid = await Assert.ThrowsAsync<ArgumentException>(() => grains.GetGrain<IInferenceGrain>("default").GenerateAsync(new InferenceRequest("", Temperature: -1)));
        var unknown = await Assert.ThrowsAsync<ModelNotLoadedException>(() => grains.GetGrain<IInferenceGrain>("gpt-9").GenerateAsync(new InferenceRequest("Hi")));

        Assert.All(results, r => Assert.Equal(("default", "cpu"), (r.Model, r.ExecutionProvider)));
        Assert.All(results, r => Assert.True(r.Tokens is > 0 and <= 12));
        Assert.All(genai, r => Assert.Equal(("genai", "cpu"), (r.Model, r.ExecutionProvider)));
        Assert.All(genai, r => Assert.True(r.Tokens is > 0 and <= 12));
        Assert.Contains("prompt is empty", invalid.Message, StringComparison.Ordinal);
        Assert.Contains("temperature", invalid.Message, StringComparison.Ordinal);
        Assert.Contains("No model 'gpt-9'", unknown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_silo_that_serves_no_models_reaches_them_on_a_silo_that_does()
    {
        var options = Options(TestModels.TinyFixture());
        await using var cluster = await TestCluster.StartAsync(1, options);
        options.Configuration["Inference:Serve"] = "false";
        var front = await cluster.AddSiloAsync();

        // A silo learns the others' grain types shortly after it joins; until then it knows no silo that hosts the grain.
        Assert.True(await Eventually.TrueAsync(() =>
        {
            try
            {
                front.GrainFactory.GetGrain<IInferenceGrain>("default");
                return true;
            }
            catch (ArgumentException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(30)));

        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => front.GrainFactory.GetGrain<IInferenceGrain>("default").GenerateAsync(new InferenceRequest($"Where is my order {i}?", MaxNewTokens: 8))));
        var streamed = new List<string>();
        await foreach (var piece in front.GrainFactory.GetGrain<IInferenceGrain>("default").StreamAsync(new InferenceRequest("Where is my parcel?", MaxNewTokens: 8)))
        {
            streamed.Add(piece);
        }

        Assert.Empty(front.Services.GetRequiredService<InferenceHost>().Loaded); // loaded nothing
        Assert.All(results, r => Assert.True(r.Tokens is > 0 and <= 8));
        Assert.NotEmpty(streamed);
        Assert.Equal(5, cluster.Silos[0].Services.GetRequiredService<InferenceHost>().Pool("default").Stats.Completed); // every call ran on the serving silo
    }

    [Fact]
    public async Task Concurrent_calls_are_batched_together_not_served_one_by_one()
    {
        await using var cluster = await TestCluster.StartAsync(1, Options(TestModels.TinyFixture()));
        var grain = cluster.Silos[0].GrainFactory.GetGrain<IInferenceGrain>("default");
        var pool = cluster.Silos[0].Services.GetRequiredService<InferenceHost>().Pool("default");

        // Long enough (200 tokens) that the calls overlap even when other tests hold the cores while they are sent.
        await Task.WhenAll(Enumerable.Range(0, 40).Select(i => grain.GenerateAsync(new InferenceRequest($"Order {i}: where is it?", MaxNewTokens: 200))));

        // Served one by one per activation (one per core), no step could advance more than a core count of calls.
        Assert.True(pool.Stats.PeakBatch >= 8, $"at most {pool.Stats.PeakBatch} of 40 concurrent calls ran in one step");
    }

    [Fact]
    public async Task A_silo_whose_model_cannot_load_does_not_start_and_says_why()
    {
        var error = await Assert.ThrowsAsync<ModelLayoutException>(() => TestCluster.StartAsync(1, Options(Path.Combine(Path.GetTempPath(), "no-such-model"))));

        Assert.Contains("no-such-model", error.Message, StringComparison.Ordinal);
        Assert.Contains("config.json", error.Message, StringComparison.Ordinal);
    }
}
