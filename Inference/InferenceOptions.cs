using Microsoft.Extensions.Options;

namespace CustomerGrains.Inference;

/// <summary>Models and where they run (configuration section <c>Inference</c>).</summary>
public sealed class InferenceOptions
{
    public const string SectionName = "Inference";

    /// <summary>Path of libonnxruntime.so.1; empty: the copy run.sh and test.sh place in the repository.</summary>
    public string? OrtLibrary { get; set; }

    /// <summary><c>cpu</c> or <c>cuda</c>.</summary>
    public string ExecutionProvider { get; set; } = Native.SessionSettings.Cpu;

    public int CudaDeviceId { get; set; }

    /// <summary>Run on CPU when CUDA is asked for but unavailable (reported by the model), instead of failing the start.</summary>
    public bool FallbackToCpu { get; set; }

    /// <summary>Threads per model step; 0 lets ONNX Runtime choose (one per core).</summary>
    public int IntraOpThreads { get; set; }

    /// <summary>Let ORT's threads busy-wait between steps: lower latency on a machine that does nothing else.</summary>
    public bool AllowSpinning { get; set; }

    /// <summary>Models to load at start, by name: <c>Inference:Models:default:Path</c> is a folder in the Hugging Face
    /// optimum layout (config.json, tokenizer.json, model.onnx).</summary>
    public Dictionary<string, ModelOptions> Models { get; set; } = [];

    public int MaxBatch { get; set; } = 32;

    public int MaxTokensInFlight { get; set; } = 16_384;

    public int MaxQueue { get; set; } = 256;
}

public sealed class ModelOptions
{
    public string? Path { get; set; }
}

public sealed class InferenceOptionsValidator : IValidateOptions<InferenceOptions>
{
    public ValidateOptionsResult Validate(string? name, InferenceOptions options)
    {
        var failures = new List<string>();
        if (options.ExecutionProvider is not (Native.SessionSettings.Cpu or Native.SessionSettings.Cuda))
        {
            failures.Add($"Inference:ExecutionProvider '{options.ExecutionProvider}' is not 'cpu' or 'cuda'.");
        }

        foreach (var (model, settings) in options.Models)
        {
            if (string.IsNullOrWhiteSpace(settings.Path))
            {
                failures.Add($"Inference:Models:{model}:Path must name a model folder.");
            }
        }

        if (options.MaxBatch < 1 || options.MaxQueue < 0 || options.MaxTokensInFlight < 1)
        {
            failures.Add("Inference:MaxBatch and Inference:MaxTokensInFlight must be positive, Inference:MaxQueue not negative.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
