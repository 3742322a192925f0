using CustomerGrains.Inference.Generation;
using CustomerGrains.Inference.Onnx;
using CustomerGrains.ModelMaker;
using CustomerGrains.Testing;

namespace CustomerGrains.Inference.Tests;

/// <summary>Generation on a decoder ModelMaker writes in the optimum layout (GQA, KV cache, position_ids).</summary>
public sealed class GenerationTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("cg-decoder-").FullName;

    private DecoderModel TinyModel(OnnxType precision = OnnxType.Float)
    {
        var folder = Path.Combine(_directory, $"tiny-{precision}");
        if (!Directory.Exists(folder))
        {
            TinyDecoder.Write(folder, DecoderSize.Tiny, precision: precision);
        }

        return DecoderModel.Load(folder, new SessionSettings());
    }

    /// <summary>The tiny decoder in a layout by name: optimum fp32/fp16/bf16, or onnxruntime-genai int4/fp16.</summary>
    private DecoderModel Model(string layout)
    {
        if (!layout.StartsWith("genai-", StringComparison.Ordinal))
        {
            return TinyModel(layout switch { "fp16" => OnnxType.Float16, "bf16" => OnnxType.BFloat16, _ => OnnxType.Float });
        }

        var folder = Path.Combine(_directory, layout);
        if (!Directory.Exists(folder))
        {
            GenAiDecoder.Write(folder, DecoderSize.TinyGenAi, layout == "genai-fp16" ? GenAiPrecision.Float16 : GenAiPrecision.Int4);
        }

        return DecoderModel.Load(folder, new SessionSettings());
    }

    [Theory]
    [InlineData(GenAiPrecision.Int4, Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float)]
    [InlineData(GenAiPrecision.Float16, Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float16)]
    public void An_onnxruntime_genai_builder_output_loads_from_its_genai_config(GenAiPrecision precision, Microsoft.ML.OnnxRuntime.Tensors.TensorElementType kvType)
    {
        using var model = Model(precision == GenAiPrecision.Int4 ? "genai-int4" : "genai-fp16");

        Assert.False(File.Exists(Path.Combine(model.Folder, "config.json")));
        Assert.Equal((4, 2, 16, 2, 2048), (model.Config.Heads, model.Config.KvHeads, model.Config.HeadDim, model.Config.Layers, model.Config.MaxPositions));
        Assert.Equal([model.Config.VocabSize - 1], model.Config.EosTokenIds);
        Assert.Equal(model.Config.VocabSize, model.Tokenizer.VocabularySize);
        Assert.False(model.HasPositionIds);
        Assert.Equal(CacheLayout.Slots, model.Layout);
        Assert.Equal(kvType, model.KvType);
        Assert.Equal(CacheLayout.LeftPadded, TinyModel().Layout);
    }

    [Fact]
    public void A_genai_config_naming_inputs_the_model_does_not_have_is_refused_at_load_naming_them()
    {
        using (Model("genai-int4"))
        {
        }

        var folder = Path.Combine(_directory, "genai-renamed");
        Directory.CreateDirectory(folder);
        foreach (var file in Directory.GetFiles(Path.Combine(_directory, "genai-int4")))
        {
            File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        }

        var config = Path.Combine(folder, "genai_config.json");
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"past_key_values.%d.key\"", "\"past.%d.key\"", StringComparison.Ordinal));

        var error = Assert.Throws<ModelLayoutException>(() => DecoderModel.Load(folder, new SessionSettings()));

        Assert.Contains("'past.0.key'", error.Message, StringComparison.Ordinal);
        Assert.Contains("genai_config.json", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_model_loads_with_its_config_and_tokenizer()
    {
        using var model = TinyModel();

        Assert.Equal((4, 2, 8, 2), (model.Config.Heads, model.Config.KvHeads, model.Config.HeadDim, model.Config.Layers));
        Assert.True(model.HasPositionIds);
        Assert.Equal(model.Config.VocabSize, model.Tokenizer.VocabularySize);
    }

    [Theory]
    [InlineData("fp32")]
    [InlineData("genai-int4")]
    public void Generating_with_the_KV_cache_gives_the_same_tokens_as_recomputing_the_whole_sequence(string layout)
    {
        using var model = Model(layout);
        var generator = new Generator(model);
        var prompt = model.Tokenizer.Encode("Hello, where is my order 12345? Привет!");

        var cached = generator.GenerateGreedy(prompt, 24, useCache: true);
        var recomputed = generator.GenerateGreedy(prompt, 24, useCache: false);

        Assert.Equal(recomputed, cached);
        Assert.True(cached.Distinct().Count() > 1, "the model keeps producing one token; the test would not notice a broken cache");
    }

    [Theory]
    [InlineData(OnnxType.Float16, 0.01)]
    [InlineData(OnnxType.BFloat16, 0.05)]
    public void An_fp16_or_bf16_exports_logits_are_read_as_the_same_float32_models_within_its_rounding(OnnxType precision, double tolerance)
    {
        using var full = TinyModel();
        using var reduced = TinyModel(precision); // the same weights, its cache and logits rounded to its precision
        var prompt = full.Tokenizer.Encode("Hello, where is my order 12345?");

        var expected = new Generator(full).Forward(prompt, new KvCache(full.Config.Layers));
        var actual = new Generator(reduced).Forward(prompt, new KvCache(reduced.Config.Layers));

        var allowed = tolerance * expected.Max(Math.Abs);
        var worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        Assert.True(worst <= allowed, $"logits differ by up to {worst}, more than {allowed}");
        Assert.Equal(Sampler.ArgMax(expected), Sampler.ArgMax(actual));
    }

    [Fact]
    public void Present_keys_have_the_kv_heads_not_the_query_heads()
    {
        using var model = TinyModel();
        var cache = new KvCache(model.Config.Layers);

        new Generator(model).Forward([1, 2, 3], cache);

        Assert.Equal(3, cache.Length);
        Assert.Equal(1 * 2 * 3 * 8 * sizeof(float), cache.Keys[0].Length); // [batch 1, kv heads 2, 3 positions, head dim 8] of float32
    }

    [Fact]
    public void A_model_without_its_KV_cache_inputs_fails_at_load_naming_what_is_missing()
    {
        var folder = Path.Combine(_directory, "no-cache");
        TinyDecoder.Write(folder, DecoderSize.Tiny);
        var model = new OnnxModel("no-cache");
        model.Input("input_ids", OnnxType.Int64, "batch", "sequence");
        model.Node("Identity", ["input_ids"], ["logits"]);
        model.Output("logits", OnnxType.Int64, "batch", "sequence");
        model.Save(Path.Combine(folder, "model.onnx"));

        var error = Assert.Throws<ModelLayoutException>(() => DecoderModel.Load(folder, new SessionSettings()));

        Assert.Contains("'attention_mask'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'past_key_values.0.key'", error.Message, StringComparison.Ordinal);
        Assert.Contains("with-past", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_model_whose_cache_is_not_float32_float16_or_bfloat16_fails_at_load_naming_its_type()
    {
        var folder = Path.Combine(_directory, "int-cache");
        TinyDecoder.Write(folder, DecoderSize.Tiny);
        var model = new OnnxModel("int-cache");
        model.Input("input_ids", OnnxType.Int64, "batch", "sequence");
        model.Input("attention_mask", OnnxType.Int64, "batch", "total");
        model.Node("Cast", ["input_ids"], ["logits"], ("to", (long)OnnxType.Float));
        model.Output("logits", OnnxType.Float, "batch", "sequence");
        for (var layer = 0; layer < DecoderSize.Tiny.Layers; layer++)
        {
            foreach (var part in new[] { "key", "value" })
            {
                model.Input($"past_key_values.{layer}.{part}", OnnxType.Int32, "batch", 2, "past", 8);
                model.Node("Identity", [$"past_key_values.{layer}.{part}"], [$"present.{layer}.{part}"]);
                model.Output($"present.{layer}.{part}", OnnxType.Int32, "batch", 2, "past", 8);
            }
        }

        model.Save(Path.Combine(folder, "model.onnx"));

        var error = Assert.Throws<ModelLayoutException>(() => DecoderModel.Load(folder, new SessionSettings()));

        Assert.Contains("Int32", error.Message, StringComparison.Ordinal);
        Assert.Contains("bfloat16", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_folder_without_a_model_file_is_refused_at_load()
    {
        var error = Assert.Throws<ModelLayoutException>(() => DecoderModel.Load(_directory, new SessionSettings()));

        Assert.Contains("config.json", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_prompt_longer_than_the_context_is_refused_with_the_limit()
    {
        using var model = TinyModel();

        var error = Assert.Throws<ArgumentException>(() => new Generator(model).GenerateGreedy(Enumerable.Repeat(5, 2040).ToArray(), 20));

        Assert.Contains("2048", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("fp32")]
    [InlineData("fp16")]
    [InlineData("bf16")]
    [InlineData("genai-int4")]
    [InlineData("genai-fp16")]
    public void Each_sequence_in_a_mixed_batch_equals_the_same_sequence_generated_alone(string layout)
    {
        using var model = Model(layout);
        Assert.Equal(layout switch
        {
            "fp16" or "genai-fp16" => Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float16,
            "bf16" => Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.BFloat16,
            _ => Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float,
        }, model.KvType);
        string[] texts = ["Where is my order?", "Здравствуйте, мой заказ ещё не пришёл. Где моя посылка?", "Refund", "I'd like to return the shoes, they don't fit. How do I get a refund for my order 12345?"];
        var prompts = texts.Select(t => model.Tokenizer.Encode(t)).ToArray();
        int[] budgets = [12, 20, 6, 16];
        int[] joinAt = [0, 0, 3, 7];
        var alone = prompts.Select((p, i) => new Generator(model).GenerateGreedy(p, budgets[i])).ToArray();

        using var batch = new DecodeBatch(model);
        var sequences = prompts.Select(p => new BatchSequence(p)).ToArray();
        var finished = new HashSet<BatchSequence>();
        for (var step = 0; finished.Count < sequences.Length; step++)
        {
            var joining = sequences.Where((s, i) => joinAt[i] == step).ToList();
            var first = batch.Join(joining);
            for (var j = 0; j < joining.Count; j++)
            {
                joining[j].Generated.Add(Sampler.ArgMax(first[j]));
            }

            var done = batch.Sequences.Where(s => IsDone(s)).ToList();
            batch.Leave(done);
            finished.UnionWith(done);
            if (batch.Sequences.Count == 0)
            {
                continue;
            }

            foreach (var (sequence, logits) in batch.Step())
            {
                sequence.Generated.Add(Sampler.ArgMax(logits));
            }

            done = batch.Sequences.Where(s => IsDone(s)).ToList();
            batch.Leave(done);
            finished.UnionWith(done);
        }

        for (var i = 0; i < sequences.Length; i++)
        {
            Assert.Equal(alone[i], sequences[i].Generated);
        }

        bool IsDone(BatchSequence s) =>
            s.Generated.Count >= budgets[Array.IndexOf(sequences, s)] || model.Config.EosTokenIds.Contains(s.Generated[^1]);
    }

    [Theory]
    [InlineData("fp32")]
    [InlineData("genai-int4")]
    public void A_row_that_steps_between_the_chunks_of_a_long_prompt_joining_and_the_joining_one_equal_each_generated_alone(string layout)
    {
        using var model = Model(layout);
        var kb = File.ReadAllText(Fixtures.Path("kb", "support-kb.json"));
        var running = new BatchSequence(model.Tokenizer.Encode("Where is my order?"));
        var joining = new BatchSequence(model.Tokenizer.Encode(kb[..1500]));
        var budgets = new Dictionary<BatchSequence, int> { [running] = 24, [joining] = 8 };
        var alone = budgets.ToDictionary(b => b.Key, b => new Generator(model).GenerateGreedy(b.Key.Prompt, b.Value));
        bool Done(BatchSequence s) => s.Generated.Count >= budgets[s] || model.Config.EosTokenIds.Contains(s.Generated[^1]);

        using var batch = new DecodeBatch(model);
        running.Generated.Add(Sampler.ArgMax(batch.Join([running])[0]));
        using var join = batch.BeginJoin([joining]);
        var stepsDuringJoin = 0;
        float[][]? first;
        while ((first = batch.ContinueJoin(join, 256)) is null)
        {
            foreach (var (sequence, logits) in batch.Step())
            {
                sequence.Generated.Add(Sampler.ArgMax(logits));
            }

            batch.Leave(batch.Sequences.Where(Done).ToList());
            stepsDuringJoin++;
        }

        joining.Generated.Add(Sampler.ArgMax(first[0]));
        while (batch.Sequences.Any(s => !Done(s)))
        {
            batch.Leave(batch.Sequences.Where(Done).ToList());
            foreach (var (sequence, logits) in batch.Step())
            {
                sequence.Generated.Add(Sampler.ArgMax(logits));
            }
        }

        Assert.True(stepsDuringJoin >= 3, $"the running row stepped {stepsDuringJoin} times while {joining.Prompt.Count} prompt tokens were prefilled");
        Assert.Equal(alone[running], running.Generated);
        Assert.Equal(alone[joining], joining.Generated);
    }

    [Theory]
    [InlineData("fp32")]
    [InlineData("genai-int4")]
    public void Long_prompts_prefilled_in_chunks_beside_a_short_one_equal_each_generated_alone(string layout)
    {
        // Joined together, prompts of 1,100+ tokens are prefilled in several chunks through the cache, and the short
        // prompt's row is all padding in the first ones (left-padded) or prefilled on its own (slots); each must still
        // continue exactly as it does alone.
        using var model = Model(layout);
        var kb = File.ReadAllText(Fixtures.Path("kb", "support-kb.json"));
        var prompts = new[] { kb[..1500], "Refund", kb.Substring(3000, 2200), kb.Substring(6000, 1800) }.Select(t => model.Tokenizer.Encode(t)).ToArray();
        var alone = prompts.Select(p => new Generator(model).GenerateGreedy(p, 8)).ToArray();

        using var batch = new DecodeBatch(model);
        var sequences = prompts.Select(p => new BatchSequence(p)).ToArray();
        var first = batch.Join(sequences);
        for (var i = 0; i < sequences.Length; i++)
        {
            sequences[i].Generated.Add(Sampler.ArgMax(first[i]));
        }

        for (var step = 1; step < 8; step++)
        {
            foreach (var (sequence, logits) in batch.Step())
            {
                sequence.Generated.Add(Sampler.ArgMax(logits));
            }
        }

        Assert.True(prompts.Max(p => p.Length) > 1100, $"the longest prompt has only {prompts.Max(p => p.Length)} tokens");
        for (var i = 0; i < sequences.Length; i++)
        {
            Assert.Equal(alone[i].Take(8), sequences[i].Generated);
        }
    }

    [Fact]
    public void The_committed_tiny_fixture_is_what_the_model_maker_writes()
    {
        var fixture = TestModels.TinyFixture();
        var fresh = Path.Combine(_directory, "fresh");

        TinyDecoder.Write(fresh, DecoderSize.Tiny);

        foreach (var file in new[] { "config.json", "tokenizer.json", "model.onnx" })
        {
            Assert.True(File.ReadAllBytes(Path.Combine(fixture, file)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(fresh, file))),
                $"{file} differs: regenerate with dotnet run --project tools/CustomerGrains.ModelMaker -- tiny tests/fixtures/tiny-decoder");
        }

        using var model = DecoderModel.Load(fixture, new SessionSettings());
        Assert.NotEmpty(new Generator(model).GenerateGreedy(model.Tokenizer.Encode("Where is my order?"), 5));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
