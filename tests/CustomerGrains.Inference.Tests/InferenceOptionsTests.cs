namespace CustomerGrains.Inference.Tests;

/// <summary>What the silo refuses to start with in the Inference section, and why.</summary>
public sealed class InferenceOptionsTests
{
    private static IReadOnlyList<string> Failures(Action<InferenceOptions> configure)
    {
        var options = new InferenceOptions();
        configure(options);
        return new InferenceOptionsValidator().Validate(null, options).Failures?.ToList() ?? [];
    }

    [Fact]
    public void CUDA_provider_options_pass_through_except_the_device_and_CUDA_graphs()
    {
        Assert.Empty(Failures(o => o.CudaOptions["arena_extend_strategy"] = "kSameAsRequested"));
        Assert.Empty(Failures(o => o.CudaOptions["enable_cuda_graph"] = "0"));

        var device = Assert.Single(Failures(o => o.CudaOptions["device_id"] = "1"));
        var graph = Assert.Single(Failures(o => o.CudaOptions["enable_cuda_graph"] = "1"));

        Assert.Contains("Inference:CudaDeviceId", device, StringComparison.Ordinal);
        Assert.Contains("change shape every step", graph, StringComparison.Ordinal);
    }

    [Fact]
    public void The_CUDA_options_reach_the_session_settings()
    {
        var options = new InferenceOptions { Provider = "cuda", CudaDeviceId = 1 };
        options.CudaOptions["gpu_mem_limit"] = "8589934592";

        var settings = options.SessionFor(new ModelOptions { Path = "/models/qwen" });

        Assert.Equal(("cuda", 1, "8589934592"), (settings.Provider, settings.CudaDeviceId, settings.CudaOptions!["gpu_mem_limit"]));
    }
}
