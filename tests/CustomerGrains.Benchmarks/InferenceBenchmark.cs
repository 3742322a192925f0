using System.Diagnostics;
using CustomerGrains.Inference.Generation;
using CustomerGrains.Inference.Onnx;
using CustomerGrains.ModelMaker;
using Microsoft.Extensions.Logging.Abstractions;

namespace CustomerGrains.Benchmarks;

/// <summary>
/// Tokens per second through the continuous-batching pool at 1, 8 and 32 concurrent callers (each sending
/// mixed-length requests back to back), against the same requests run one at a time, and the raw batched step rate
/// of the session with 32 sequences and no scheduler around it (the ceiling); then the pool at 1, 8 and 32 on the same
/// model as an fp16 export (its KV cache and logits in float16), and on a model of the same shape as onnxruntime-genai's
/// builder writes it for CPU (int4 MatMulNBits, GroupQueryAttention, slot cache), against ONNX Runtime GenAI running
/// that folder through its own genai_config.json.
/// </summary>
public static class InferenceBenchmark
{
    private static readonly TimeSpan Warmup = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(8);

    internal static readonly string[] Prompts =
    [
        "Where is my order?",
        "Hello, I ordered a parcel last week and it has not arrived yet. Could you check the tracking number please?",
        "Refund",
        "Здравствуйте, мой заказ ещё не пришёл. Где моя посылка? Пожалуйста, проверьте номер отслеживания.",
        "I'd like to return the shoes, they don't fit. How do I get a refund for my order? The invoice number is 12345.",
        "Guten Tag, meine Bestellung ist noch nicht angekommen.",
        "Your account password was reset. If you didn't request this, please contact support immediately.",
        "Thanks!",
    ];

    // Short replies (16 to 64 tokens, about 38) after prompts of about 30 tokens. With longer and more varied replies
    // (32 to 128) the padded batch cache costs more: every row attends over the longest row's context.
    internal static readonly int[] NewTokens = [16, 64, 32, 48, 24, 64, 40, 16];

    private static string BenchModel(OnnxType precision)
    {
        var folder = Path.Combine(Environment.GetEnvironmentVariable("CUSTOMERGRAINS_STATE") ?? ".state", "models",
            precision == OnnxType.Float ? "bench-decoder" : $"bench-decoder-{precision.ToString().ToLowerInvariant()}");
        if (!File.Exists(Path.Combine(folder, "model.onnx")))
        {
            TinyDecoder.Write(folder, DecoderSize.Bench, precision: precision);
        }

        return folder;
    }

    private static string GenAiBenchModel()
    {
        var folder = Path.Combine(Environment.GetEnvironmentVariable("CUSTOMERGRAINS_STATE") ?? ".state", "models", "bench-decoder-genai-int4");
        if (!File.Exists(Path.Combine(folder, "model.onnx")))
        {
            GenAiDecoder.Write(folder, DecoderSize.Bench);
        }

        return folder;
    }

    public static async Task<BenchmarkResult> RunAsync()
    {
        using var model = DecoderModel.Load(BenchModel(OnnxType.Float), new SessionSettings());
        Console.WriteLine($"ONNX Runtime {ModelSession.RuntimeVersion} on {model.Session.Provider}; model {DecoderSize.Bench}");
        await using var pool = new InferencePool(model, new PoolOptions(MaxBatch: 32), TimeProvider.System, NullLogger.Instance);

        var raw = RawBatched(model, 32);
        var rawDecode = RawBatched(model, 32, timePrefill: false);
        var result = new BenchmarkResult("inference");
        double pool32 = 0, sequential = 0;
        sequential = await TokensPerSecondAsync("one at a time", pool, 1);
        foreach (var concurrency in new[] { 1, 8, 32 })
        {
            var rate = await TokensPerSecondAsync($"pool, {concurrency} concurrent", pool, concurrency);
            result.Add($"pool_tok_s_c{concurrency}", rate);
            pool32 = rate;
        }

        Console.WriteLine($"raw batched (32)         {raw,12:N0} tokens per s (prefill + steps, no scheduler)");
        Console.WriteLine($"raw decode steps (32)    {rawDecode,12:N0} tokens per s (steps only, no prefill)");
        var fp16 = new Dictionary<int, double>();
        using (var half = DecoderModel.Load(BenchModel(OnnxType.Float16), new SessionSettings()))
        {
            await using var halfPool = new InferencePool(half, new PoolOptions(MaxBatch: 32), TimeProvider.System, NullLogger.Instance);
            foreach (var concurrency in new[] { 1, 8, 32 })
            {
                fp16[concurrency] = await TokensPerSecondAsync($"fp16 pool, {concurrency} concurrent", halfPool, concurrency);
            }
        }

        var int4 = new Dictionary<int, double>();
        using (var genAiModel = DecoderModel.Load(GenAiBenchModel(), new SessionSettings()))
        {
            await using var genAiPool = new InferencePool(genAiModel, new PoolOptions(MaxBatch: 32), TimeProvider.System, NullLogger.Instance);
            foreach (var concurrency in new[] { 1, 8, 32 })
            {
                int4[concurrency] = await TokensPerSecondAsync($"genai-int4 pool, {concurrency}", genAiPool, concurrency);
            }
#if GENAI
            // The same 32 requests (mixed prompt and reply lengths) as one static batch at a time, on the same folder.
            var requests = Enumerable.Range(0, 32).ToList();
            var genai = GenAiPeer.TokensPerSecond(
                genAiModel,
                requests.Select(i => genAiModel.Tokenizer.Encode(Unique(Prompts[i % Prompts.Length], i, 0))).ToList(),
                requests.Select(i => NewTokens[i % NewTokens.Length]).ToList(),
                Warmup,
                Window);
            Console.WriteLine($"ORT GenAI static (32)    {genai,12:N0} tokens per s (requested tokens only)");
            result.Add("genai_tok_s", genai).Add("pool_vs_genai", int4[32] / genai);
#endif
        }

        var final = new BenchmarkResult("inference")
            .Add("concurrency", 32)
            .Add("pool_tok_s", pool32)
            .Add("sequential_tok_s", sequential)
            .Add("raw_batched_tok_s", raw)
            .Add("speedup", pool32 / sequential)
            .Add("pool_vs_raw", pool32 / raw)
            .Add("pool_tok_s_c1", result.Get("pool_tok_s_c1"))
            .Add("pool_tok_s_c8", result.Get("pool_tok_s_c8"))
            .Add("raw_decode_only_tok_s", rawDecode)
            .Add("fp16_tok_s_c1", fp16[1])
            .Add("fp16_tok_s_c8", fp16[8])
            .Add("fp16_tok_s_c32", fp16[32])
            .Add("genai_int4_tok_s_c1", int4[1])
            .Add("genai_int4_tok_s_c8", int4[8])
            .Add("genai_int4_tok_s_c32", int4[32]);
#if GENAI
        final.Add("genai_tok_s", result.Get("genai_tok_s")).Add("pool_vs_genai", result.Get("pool_vs_genai"));
#endif
        return final;
    }

    /// <summary>Generated tokens per second with <paramref name="callers"/> callers sending requests back to back.</summary>
    internal static async Task<double> TokensPerSecondAsync(string name, InferencePool pool, int callers)
    {
        long tokens = 0;
        var measuring = false;
        using var stop = new CancellationTokenSource();
        var tasks = Enumerable.Range(0, callers).Select(caller => Task.Run(async () =>
        {
            for (var i = caller; !stop.IsCancellationRequested; i++)
            {
                var n = i % Prompts.Length;
                var result = await pool.GenerateAsync(new GenerationRequest(Unique(Prompts[n], caller, i), NewTokens[n]));
                if (Volatile.Read(ref measuring))
                {
                    Interlocked.Add(ref tokens, result.Tokens.Count + (result.FinishReason == FinishReason.EndOfSequence ? 1 : 0));
                }
            }
        })).ToArray();

        await Task.Delay(Warmup);
        Volatile.Write(ref measuring, true);
        var watch = Stopwatch.StartNew();
        await Task.Delay(Window);
        var counted = Interlocked.Read(ref tokens);
        watch.Stop();
        await stop.CancelAsync();
        await Task.WhenAll(tasks);
        var rate = counted / watch.Elapsed.TotalSeconds;
        Console.WriteLine($"{name,-24} {rate,12:N0} tokens per s");
        return rate;
    }

    /// <summary>Every request's prompt is its own (identical prompts joining together are prefilled once, a saving the
    /// raw ceiling would get far more often than the pool).</summary>
    internal static string Unique(string prompt, int caller, int request) => $"{prompt} ({caller}.{request})";

    /// <summary>Batches of 32 of the same prompts, prefilled together and stepped as many times as a request gets
    /// tokens on average, nothing else: the same work the pool does (prefill and decode), done by the session in static
    /// batches with no scheduler. Prefill and steps are timed; building the batches is not.</summary>
    private static double RawBatched(DecoderModel model, int batchSize, bool timePrefill = true)
    {
        var stepsPerBatch = (int)NewTokens.Average() - 1;
        var stepping = new Stopwatch();
        var total = Stopwatch.StartNew();
        long tokens = 0;
        while (total.Elapsed < Warmup + Window)
        {
            using var batch = new DecodeBatch(model);
            var sequences = Enumerable.Range(0, batchSize).Select(i => new BatchSequence(model.Tokenizer.Encode(Unique(Prompts[i % Prompts.Length], i, 0)))).ToList();
            var measured = total.Elapsed >= Warmup;
            if (measured && timePrefill)
            {
                stepping.Start();
            }

            var first = batch.Join(sequences);
            stepping.Stop();
            for (var i = 0; i < sequences.Count; i++)
            {
                sequences[i].Generated.Add(Sampler.ArgMax(first[i])); // each sequence's first token comes from its prefill
            }

            tokens += measured && timePrefill ? batchSize : 0;

            for (var step = 0; step < stepsPerBatch; step++)
            {
                if (measured)
                {
                    stepping.Start();
                }

                foreach (var (sequence, logits) in batch.Step())
                {
                    sequence.Generated.Add(Sampler.ArgMax(logits));
                }

                if (measured)
                {
                    stepping.Stop();
                    tokens += batchSize;
                }
            }
        }

        return tokens / stepping.Elapsed.TotalSeconds;
    }
}
