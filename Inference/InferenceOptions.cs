using CustomerGrains.Inference.Onnx;
using Microsoft.Extensions.Options;

namespace CustomerGrains.Inference;

/// <summary>Models and where they run (configuration section <c>Inference</c>).</summary>
public sealed class InferenceOptions
{
    public const string SectionName = "Inference";

    /// <summary>Where a model runs unless its own <see cref="ModelOptions.Provider"/> says: <c>cpu</c> or <c>cuda</c>.
    /// cuda needs the GPU flavour of the build and CUDA 13 with cuDNN 9; without them the silo refuses to start.</summary>
    public string Provider { get; set; } = SessionSettings.Cpu;

    public int CudaDeviceId { get; set; }

    /// <summary>ONNX Runtime's CUDA provider options, by its names (<c>Inference:CudaOptions:arena_extend_strategy</c>
    /// = kSameAsRequested, <c>gpu_mem_limit</c>, <c>cudnn_conv_algo_search</c>, ...); the device is
    /// <see cref="CudaDeviceId"/>.</summary>
    public Dictionary<string, string> CudaOptions { get; set; } = [];

    /// <summary>Threads per model step. 0 (default): one fewer than the machine's cores, at least one, so that the
    /// gateway and PostgreSQL beside the model keep a core. Measured on 2 cores (bench.sh suggestions, 32 agents): one
    /// thread against ONNX Runtime's one per core took the first event's p99 from 98-230 ms to 74-123 ms and the agents
    /// a silo serves within 1 s from 450-540 to 600.</summary>
    public int IntraOpThreads { get; set; }

    /// <summary>Let ORT's threads busy-wait between steps: lower latency on a machine that does nothing else.</summary>
    public bool AllowSpinning { get; set; }

    /// <summary>Models to load at start, by name: <c>Inference:Models:default:Path</c> is a folder in the Hugging Face
    /// optimum layout (config.json, tokenizer.json, model.onnx).</summary>
    public Dictionary<string, ModelOptions> Models { get; set; } = [];

    /// <summary>Whether this silo loads the models under <see cref="Models"/> and runs them. False on the silos of a
    /// GPU host that do not own the device: they load nothing, and their suggestion requests reach the models on
    /// the silos that serve them, through Orleans (so one batch per device, not one per silo).</summary>
    public bool Serve { get; set; } = true;

    public int MaxBatch { get; set; } = 32;

    public int MaxTokensInFlight { get; set; } = 16_384;

    public int MaxQueue { get; set; } = 256;

    /// <summary>How <paramref name="model"/> runs: its own provider, else <see cref="Provider"/>.</summary>
    public SessionSettings SessionFor(ModelOptions model) =>
        new(model.Provider ?? Provider, CudaDeviceId, IntraOpThreads > 0 ? IntraOpThreads : Math.Max(1, Environment.ProcessorCount - 1), AllowSpinning: AllowSpinning, CudaOptions: CudaOptions);
}

public sealed class ModelOptions
{
    /// <summary>An ONNX model folder (optimum layout) served by this silo's pool. Either this or <see cref="Endpoint"/>.</summary>
    public string? Path { get; set; }

    /// <summary>The base URL of an OpenAI-compatible chat-completions server that serves the model instead (vLLM,
    /// llama.cpp's server, Ollama, a hosted API), e.g. <c>http://vllm:8000/v1</c>. Either this or <see cref="Path"/>.</summary>
    public string? Endpoint { get; set; }

    /// <summary>The key the server asks for (sent as a bearer token); local servers often ask for none.</summary>
    public string? ApiKey { get; set; }

    /// <summary>The server's name for the model; default: the name it has here.</summary>
    public string? ModelId { get; set; }

    /// <summary>The server model's context in tokens, which prompts are fitted to (an endpoint's tokenizer is not
    /// known here: prompts are measured at a token per three characters).</summary>
    public int ContextTokens { get; set; } = 8192;

    /// <summary>The most memory this decoder's batch KV cache may take, in bytes: requests join the batch only while
    /// its rows, padded to the longest one's prompt and maxNewTokens, fit (a request that alone would not is refused at
    /// once). Unset: a quarter of the memory the process may use (on CUDA, set it from the device's free memory
    /// after the weights).</summary>
    public long? KvCacheBytes { get; set; }

    /// <summary><c>cpu</c> or <c>cuda</c> for this model; unset: <see cref="InferenceOptions.Provider"/>.</summary>
    public string? Provider { get; set; }

    /// <summary>For an encoder: the languages it was trained on (ISO 639-1 codes, e.g. <c>en</c> for all-MiniLM-L6-v2).
    /// A knowledge-base query in another language is matched lexically alone, since an encoder scores text it was not
    /// trained on at random. Unset: every language (a multilingual encoder).</summary>
    public List<string>? Languages { get; set; }

    /// <summary>Whether this model covers <paramref name="language"/>.</summary>
    public bool Covers(string language) => Languages is not { Count: > 0 } languages || languages.Contains(language, StringComparer.OrdinalIgnoreCase);
}

public sealed class InferenceOptionsValidator : IValidateOptions<InferenceOptions>
{
    public ValidateOptionsResult Validate(string? name, InferenceOptions options)
    {
        var failures = new List<string>();
        if (!IsProvider(options.Provider))
        {
            failures.Add($"Inference:Provider '{options.Provider}' is not 'cpu' or 'cuda'.");
        }

        foreach (var (model, settings) in options.Models)
        {
            if (string.IsNullOrWhiteSpace(settings.Path) == string.IsNullOrWhiteSpace(settings.Endpoint))
            {
                failures.Add($"Inference:Models:{model} needs exactly one of Path (an ONNX model folder) and Endpoint (an OpenAI-compatible server's URL).");
            }

            if (!string.IsNullOrWhiteSpace(settings.Endpoint)
                && (!Uri.TryCreate(settings.Endpoint, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https")))
            {
                failures.Add($"Inference:Models:{model}:Endpoint '{settings.Endpoint}' is not an absolute http(s) URL.");
            }

            if (settings.ContextTokens < 256)
            {
                failures.Add($"Inference:Models:{model}:ContextTokens must be at least 256.");
            }

            if (settings.KvCacheBytes is <= 0)
            {
                failures.Add($"Inference:Models:{model}:KvCacheBytes must be positive.");
            }

            if (settings.Provider is { } provider && !IsProvider(provider))
            {
                failures.Add($"Inference:Models:{model}:Provider '{provider}' is not 'cpu' or 'cuda'.");
            }
        }

        if (options.CudaOptions.ContainsKey("device_id"))
        {
            failures.Add("Inference:CudaOptions:device_id: set the device with Inference:CudaDeviceId.");
        }

        if (options.CudaOptions.TryGetValue("enable_cuda_graph", out var graph) && graph is not ("0" or "false"))
        {
            // A CUDA graph replays fixed shapes at fixed addresses; the pool's steps change batch size and length.
            failures.Add("Inference:CudaOptions:enable_cuda_graph: the pool's batches change shape every step (rows join and leave, the mask grows), which a captured CUDA graph cannot follow.");
        }

        if (options.MaxBatch < 1 || options.MaxQueue < 0 || options.MaxTokensInFlight < 1)
        {
            failures.Add("Inference:MaxBatch and Inference:MaxTokensInFlight must be positive, Inference:MaxQueue not negative.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static bool IsProvider(string provider) =>
        provider.Equals(SessionSettings.Cpu, StringComparison.OrdinalIgnoreCase) || provider.Equals(SessionSettings.Cuda, StringComparison.OrdinalIgnoreCase);
}
