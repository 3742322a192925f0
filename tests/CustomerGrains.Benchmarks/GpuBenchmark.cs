using System.Diagnostics;
using CustomerGrains.Inference.Generation;
using CustomerGrains.Inference.Onnx;
using CustomerGrains.ModelMaker;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;

namespace CustomerGrains.Benchmarks;

/// <summary>
/// ./bench.sh gpu: the pool on CUDA with decoders of Qwen2.5-0.5B's shape (random weights), as onnxruntime-genai's
/// builder writes them for CUDA (fp16 KV cache, GroupQueryAttention, slots) and as optimum exports them with
/// <c>--dtype fp16</c> (left-padded), at 1, 32, 128 and 256 concurrent callers: tokens per second through the pool, and,
/// for a batch of that many rows stepped alone, the p99 step time and the bytes each step moves between host and device
/// (inputs and logits; the KV cache stays on the device, so this does not grow with it), and the device memory used.
/// Without CUDA it says so and stops.
/// </summary>
public static class GpuBenchmark
{
    private static readonly int[] Concurrency = [1, 32, 128, 256];

    public static async Task<BenchmarkResult> RunAsync()
    {
        var result = new BenchmarkResult("gpu");
        var settings = new SessionSettings(SessionSettings.Cuda, int.TryParse(Environment.GetEnvironmentVariable("CUDA_DEVICE"), out var device) ? device : 0);
        if (CannotRun(settings) is { } why)
        {
            Console.WriteLine($"No CUDA here, nothing measured: {why}");
            return result.Add("cuda", 0);
        }

        result.Add("cuda", 1);
        var state = Environment.GetEnvironmentVariable("CUSTOMERGRAINS_STATE") ?? ".state";
        foreach (var (layout, write) in new (string, Action<string>)[]
        {
            ("genai_fp16", folder => GenAiDecoder.Write(folder, DecoderSize.Qwen05B, GenAiPrecision.Float16)),
            ("optimum_fp16", folder => TinyDecoder.Write(folder, DecoderSize.Qwen05B, precision: OnnxType.Float16)),
        })
        {
            var folder = Path.Combine(state, "models", $"gpu-{layout}");
            if (!File.Exists(Path.Combine(folder, "model.onnx")))
            {
                Console.WriteLine($"Writing {folder} (Qwen2.5-0.5B's shape, random weights)...");
                write(folder);
            }

            using var model = DecoderModel.Load(folder, settings);
            Console.WriteLine($"{layout}: ONNX Runtime {ModelSession.RuntimeVersion} on {model.Session.Provider}, cache {model.Layout}, {model.KvBytesPerToken} bytes per cached token");
            var budget = CudaDevice.Memory(settings.CudaDeviceId) is { } free ? free.Free / 5 * 4 : 8L << 30;
            await using (var pool = new InferencePool(model, new PoolOptions(MaxBatch: 256, MaxQueue: 1024, Model: layout, KvCacheBytes: budget), TimeProvider.System, NullLogger.Instance))
            {
                foreach (var callers in Concurrency)
                {
                    result.Add($"{layout}_tok_s_c{callers}", await InferenceBenchmark.TokensPerSecondAsync($"{layout} pool, {callers}", pool, callers));
                }
            }

            foreach (var rows in Concurrency)
            {
                var (p99, hostBytes) = Steps(model, rows);
                Console.WriteLine($"{layout} batch of {rows,3}: p99 step {p99:F2} ms, {hostBytes:N0} bytes host<->device per step");
                result.Add($"{layout}_p99_step_ms_c{rows}", p99).Add($"{layout}_host_bytes_per_step_c{rows}", hostBytes);
            }

            if (CudaDevice.Memory(settings.CudaDeviceId) is { } memory)
            {
                result.Add($"{layout}_gpu_mem_used_mb", (memory.Total - memory.Free) / (1024.0 * 1024));
            }
        }

        return result;
    }

    /// <summary>Why CUDA cannot run here (the CPU build, no driver or libraries, no device), or null.</summary>
    private static string? CannotRun(SessionSettings settings)
    {
        if (!OrtEnv.Instance().GetAvailableProviders().Contains("CUDAExecutionProvider"))
        {
            return "this build carries the CPU ONNX Runtime (bench.sh gpu builds ORT_FLAVOR=cuda unless told otherwise).";
        }

        var probe = new OnnxModel("probe");
        probe.Input("x", OnnxType.Float, 1);
        probe.Node("Identity", ["x"], ["y"]);
        probe.Output("y", OnnxType.Float, 1);
        var path = Path.Combine(Path.GetTempPath(), $"cg-cuda-probe-{Environment.ProcessId}.onnx");
        probe.Save(path);
        try
        {
            using var session = ModelSession.Open(path, settings);
            return null;
        }
        catch (ModelLoadException ex)
        {
            return ex.Message;
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>A batch of <paramref name="rows"/> requests stepped 64 times after their prefill: the 99th percentile
    /// step time and the host-device bytes per step.</summary>
    private static (double P99Ms, double HostBytes) Steps(DecoderModel model, int rows)
    {
        using var batch = new DecodeBatch(model);
        var sequences = Enumerable.Range(0, rows)
            .Select(i => new BatchSequence(model.Tokenizer.Encode(InferenceBenchmark.Unique(InferenceBenchmark.Prompts[i % InferenceBenchmark.Prompts.Length], i, 0))))
            .ToList();
        var first = batch.Join(sequences);
        for (var i = 0; i < rows; i++)
        {
            sequences[i].Generated.Add(Sampler.ArgMax(first[i]));
        }

        var times = new List<double>();
        var before = batch.HostBytes;
        for (var step = 0; step < 64; step++)
        {
            var watch = Stopwatch.StartNew();
            foreach (var (sequence, logits) in batch.Step())
            {
                sequence.Generated.Add(Sampler.ArgMax(logits));
            }

            times.Add(watch.Elapsed.TotalMilliseconds);
        }

        times.Sort();
        return (times[(int)Math.Ceiling(0.99 * times.Count) - 1], (batch.HostBytes - before) / 64.0);
    }
}
