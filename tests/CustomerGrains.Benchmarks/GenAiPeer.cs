#if GENAI
using System.Diagnostics;
using System.Text.Json;
using Microsoft.ML.OnnxRuntimeGenAI;
using DecoderModel = CustomerGrains.Inference.Generation.DecoderModel;

namespace CustomerGrains.Benchmarks;

/// <summary>
/// The peer a .NET user would reach for: ONNX Runtime GenAI 0.20 (CPU), whose C# API generates in static batches only.
/// It runs an onnxruntime-genai builder output (the benchmark's int4 GroupQueryAttention decoder) through that
/// folder's own genai_config.json, on the same requests as the pool. A static batch runs until its longest request is
/// done, and every row of it costs a step whether its request still needs tokens or not: only the tokens each request
/// asked for count.
/// </summary>
internal static class GenAiPeer
{
    public static double TokensPerSecond(DecoderModel model, IReadOnlyList<int[]> prompts, IReadOnlyList<int> newTokens, TimeSpan warmup, TimeSpan window)
    {
        var config = model.Config;
        var longest = prompts.Max(p => p.Length);
        var maxLength = longest + newTokens.Max();

        // The C# API takes a batch as one rectangle of ids: shorter prompts are left-padded with genai_config.json's
        // pad token (the decoder's <|im_end|>, which no prompt holds).
        var pad = config.VocabSize - 1;
        var batch = new int[prompts.Count * longest];
        Array.Fill(batch, pad);
        for (var row = 0; row < prompts.Count; row++)
        {
            prompts[row].CopyTo(batch, row * longest + longest - prompts[row].Length);
        }

        using var genai = new Model(model.Folder);
        var counting = new Stopwatch();
        var total = Stopwatch.StartNew();
        long tokens = 0;
        var checkedOnce = false;
        while (total.Elapsed < warmup + window)
        {
            var measured = total.Elapsed >= warmup;
            using var parameters = new GeneratorParams(genai);
            parameters.SetSearchOption("batch_size", prompts.Count);
            parameters.SetSearchOption("max_length", maxLength);
            parameters.SetSearchOption("do_sample", false);
            if (measured)
            {
                counting.Start();
            }

            using var generator = new Generator(genai, parameters);
            generator.AppendTokens(batch);
            var steps = 0;
            while (!generator.IsDone() && steps < newTokens.Max())
            {
                generator.GenerateNextToken();
                steps++;
            }

            counting.Stop();
            if (!checkedOnce)
            {
                // The same decoder, greedy: GenAI's reply to the longest prompt (no padding) must be the project's own,
                // or the config's mapping is wrong and the figure means nothing. The shortest prompt's row is padded
                // the most: whether GenAI masks that padding is reported too (its cost is the same either way).
                checkedOnce = true;
                var lengths = prompts.Select((p, i) => (p.Length, i)).ToList();
                Console.WriteLine($"ORT GenAI's greedy tokens: unpadded row {Agreement(model, prompts, generator, steps, lengths.Max().i)}, " +
                    $"most padded row {Agreement(model, prompts, generator, steps, lengths.Min().i)}");
            }

            if (measured)
            {
                for (var row = 0; row < prompts.Count; row++)
                {
                    var reply = generator.GetSequence((ulong)row)[^steps..];
                    var end = reply.IndexOfAny(config.EosTokenIds.ToArray());
                    tokens += Math.Min(newTokens[row], end >= 0 ? end + 1 : steps);
                }
            }
        }

        return tokens / counting.Elapsed.TotalSeconds;
    }

    private static string Agreement(DecoderModel model, IReadOnlyList<int[]> prompts, Generator generator, int steps, int row)
    {
        var own = new CustomerGrains.Inference.Generation.Generator(model).GenerateGreedy(prompts[row], 8);
        var theirs = generator.GetSequence((ulong)row)[^steps..][..own.Count].ToArray();
        return own.SequenceEqual(theirs) ? "equals the project's own" : $"DIFFERS from the project's own ({string.Join(",", theirs)} against {string.Join(",", own)})";
    }
}
#endif
