using System.Text.Json;
using CustomerGrains.Inference.Onnx;

namespace CustomerGrains.ModelMaker;

/// <summary>The shape of a generated decoder.</summary>
public sealed record DecoderSize(int Hidden, int Heads, int KvHeads, int Layers, int Intermediate, int MaxPositions = 512)
{
    /// <summary>The committed test fixture: tiny, GQA (4 query heads share 2 key/value heads).</summary>
    public static readonly DecoderSize Tiny = new(Hidden: 32, Heads: 4, KvHeads: 2, Layers: 2, Intermediate: 64, MaxPositions: 2048);

    /// <summary>The tiny decoder in onnxruntime-genai's layout: GroupQueryAttention's CPU kernel takes head sizes that
    /// are multiples of 16 only.</summary>
    public static readonly DecoderSize TinyGenAi = new(Hidden: 64, Heads: 4, KvHeads: 2, Layers: 2, Intermediate: 128, MaxPositions: 2048);

    /// <summary>For benchmarks: about 100 MB of weights, more than a CPU cache holds, so that (as with real language
    /// models) a step of one sequence is bound by reading the weights, which batching shares.</summary>
    public static readonly DecoderSize Bench = new(Hidden: 512, Heads: 8, KvHeads: 2, Layers: 8, Intermediate: 1536);

    /// <summary>Qwen2.5-0.5B-Instruct's shape (24 layers, 14 query and 2 KV heads of 64, a 151,936-token vocabulary),
    /// with random weights: the GPU benchmark's model (a 2.5 GB file, made when that benchmark runs).</summary>
    public static readonly DecoderSize Qwen05B = new(Hidden: 896, Heads: 14, KvHeads: 2, Layers: 24, Intermediate: 4864, MaxPositions: 4096) { Vocab = 151_936 };

    /// <summary>The model's vocabulary (embedding rows and logits) when larger than its tokenizer's, as real models
    /// pad theirs; 0: the tokenizer's.</summary>
    public int Vocab { get; init; }

    public int HeadDim => Hidden / Heads;
}

/// <summary>
/// Writes a Llama-style decoder with random weights in exactly the Hugging Face optimum layout: a folder with
/// config.json, tokenizer.json and model.onnx whose inputs are input_ids, attention_mask, position_ids and
/// past_key_values.{i}.key/value [batch, kv_heads, past, head_dim], and whose outputs are logits and
/// present.{i}.key/value. RMSNorm, rotary position embeddings from position_ids, grouped-query attention with a
/// causal and padding mask, SwiGLU MLP. The loader reads it exactly as it reads a real export.
/// </summary>
public static class TinyDecoder
{
    /// <param name="precision">The type of the KV cache (past_key_values, present) and the logits, as optimum's fp16
    /// (<c>--dtype fp16</c>) and bf16 exports have them: Float16 or BFloat16 at the model's edges, cast to and from
    /// float32 inside (the weights and arithmetic stay float32, so the file and the CPU kernels are the fp32 model's).</param>
    public static void Write(string folder, DecoderSize size, int seed = 42, int merges = 300, OnnxType precision = OnnxType.Float)
    {
        var vocab = WriteTokenizerAndConfig(folder, size, merges, precision);
        Build(size, vocab, seed, script: null, precision).Save(Path.Combine(folder, "model.onnx"));
    }

    /// <summary>
    /// The same decoder (the same files, layers, KV cache and cost per token), whose every reply is one fixed text: its
    /// logits are the random model's times zero plus a table that, after a token of <paramref name="script"/>, is
    /// one-hot on the token that follows it there, after any other token on the script's first one, and after its last
    /// on end-of-sequence (or, with <paramref name="loop"/>, on its first again, so that every reply runs to its
    /// token limit as the random model's do). Greedy or sampled, it says the script, so tests and benchmarks can follow
    /// drafts that read as text (citations included) through the real loading, batching and decoding code.
    /// </summary>
    /// <param name="encode">Tokenizes a text with the tokenizer.json at a path (the tool itself has no tokenizer).</param>
    public static void WriteScripted(string folder, DecoderSize size, string script, Func<string, string, int[]> encode, bool loop = false, int seed = 42)
    {
        if (size.Vocab > 0)
        {
            throw new ArgumentException("A scripted decoder's vocabulary is its tokenizer's.");
        }

        var vocab = WriteTokenizerAndConfig(folder, size, merges: 300);
        var tokens = encode(Path.Combine(folder, "tokenizer.json"), script);
        if (tokens.Distinct().Count() != tokens.Length)
        {
            throw new ArgumentException($"The script's tokens must all differ (each one names its successor); '{script}' repeats one.");
        }

        var eos = vocab - 1;
        var next = Enumerable.Repeat(tokens[0], vocab).ToArray();
        for (var i = 0; i < tokens.Length; i++)
        {
            next[tokens[i]] = i + 1 < tokens.Length ? tokens[i + 1] : loop ? tokens[0] : eos;
        }

        var table = new float[vocab * vocab];
        for (var t = 0; t < vocab; t++)
        {
            table[t * vocab + next[t]] = 30f;
        }

        Build(size, vocab, seed, table).Save(Path.Combine(folder, "model.onnx"));
    }

    /// <summary>Writes tokenizer.json (Qwen2's family: ChatML specials, the last one &lt;|im_end|&gt;); returns the
    /// vocabulary size.</summary>
    internal static int WriteTokenizer(string folder, int merges)
    {
        Directory.CreateDirectory(folder);
        var tokenizer = TokenizerJson.Create(TokenizerFamily.Qwen2, TokenizerJson.SupportCorpus, merges);
        File.WriteAllText(Path.Combine(folder, "tokenizer.json"), tokenizer);
        using var document = JsonDocument.Parse(tokenizer);
        return document.RootElement.GetProperty("model").GetProperty("vocab").EnumerateObject().Count() + TokenizerJson.SpecialTokens.Length;
    }

    /// <summary>Rotary tables [positions, head_dim / 2]: cos and sin of p / 10000^(2j / head_dim).</summary>
    internal static (float[] Cos, float[] Sin) RotaryTables(int positions, int headDim)
    {
        var half = headDim / 2;
        var cos = new float[positions * half];
        var sin = new float[positions * half];
        for (var p = 0; p < positions; p++)
        {
            for (var j = 0; j < half; j++)
            {
                var angle = p / Math.Pow(10000.0, 2.0 * j / headDim);
                cos[p * half + j] = (float)Math.Cos(angle);
                sin[p * half + j] = (float)Math.Sin(angle);
            }
        }

        return (cos, sin);
    }

    /// <summary>RMSNorm of <paramref name="x"/> over its last axis, scaled by <paramref name="weight"/>.</summary>
    internal static string RmsNorm(OnnxModel m, string x, string weight)
    {
        var meanSquare = m.Op("ReduceMean", [m.Op("Mul", x, x)], ("axes", new long[] { -1 }), ("keepdims", 1L));
        return m.Op("Mul", m.Op("Div", x, m.Op("Sqrt", m.Op("Add", meanSquare, m.Initializer($"eps_{weight}", [1e-5f])))), weight);
    }

    /// <summary>Writes tokenizer.json and config.json; returns the model's vocabulary size.</summary>
    private static int WriteTokenizerAndConfig(string folder, DecoderSize size, int merges, OnnxType precision = OnnxType.Float)
    {
        var tokens = WriteTokenizer(folder, merges);
        var vocab = Math.Max(tokens, size.Vocab);
        var eos = tokens - 1; // <|im_end|>
        File.WriteAllText(Path.Combine(folder, "config.json"), JsonSerializer.Serialize(new
        {
            model_type = "llama",
            architectures = new[] { "LlamaForCausalLM" },
            vocab_size = vocab,
            hidden_size = size.Hidden,
            num_attention_heads = size.Heads,
            num_key_value_heads = size.KvHeads,
            num_hidden_layers = size.Layers,
            intermediate_size = size.Intermediate,
            max_position_embeddings = size.MaxPositions,
            rms_norm_eps = 1e-5,
            rope_theta = 10000.0,
            bos_token_id = tokens - 2,
            eos_token_id = eos,
            torch_dtype = precision switch { OnnxType.Float16 => "float16", OnnxType.BFloat16 => "bfloat16", _ => "float32" },
        }, new JsonSerializerOptions { WriteIndented = true }));
        return vocab;
    }

    private static OnnxModel Build(DecoderSize size, int vocab, int seed, float[]? script, OnnxType precision = OnnxType.Float)
    {
        if (precision is not (OnnxType.Float or OnnxType.Float16 or OnnxType.BFloat16))
        {
            throw new ArgumentException($"A decoder's cache and logits are Float, Float16 or BFloat16, not {precision}.");
        }

        var random = new Random(seed);
        var (h, nh, nkv, d) = (size.Hidden, size.Heads, size.KvHeads, size.HeadDim);
        var m = new OnnxModel("tiny-decoder");
        m.Input("input_ids", OnnxType.Int64, "batch", "sequence");
        m.Input("attention_mask", OnnxType.Int64, "batch", "total");
        m.Input("position_ids", OnnxType.Int64, "batch", "sequence");
        for (var i = 0; i < size.Layers; i++)
        {
            m.Input($"past_key_values.{i}.key", precision, "batch", nkv, "past", d);
            m.Input($"past_key_values.{i}.value", precision, "batch", nkv, "past", d);
        }

        // The model's edges in its precision: what comes in is cast to float32, what goes out is cast from it.
        string In(string name) => precision == OnnxType.Float ? name : m.Op("Cast", [name], ("to", (long)OnnxType.Float));

        // A layer's present: the past and this run's keys or values, rounded to the cache's precision before they are
        // attended to, as a real export's cache is (a token sees the same values whether cached or computed now).
        string Present(string past, string current, string name)
        {
            if (precision == OnnxType.Float)
            {
                return m.Node("Concat", [past, current], [name], ("axis", 2L));
            }

            m.Node("Cast", [m.Op("Concat", [In(past), current], ("axis", 2L))], [name], ("to", (long)precision));
            return In(name);
        }

        float[] Weights(int rows, int cols, float scale) => Enumerable.Range(0, rows * cols).Select(_ => (float)((random.NextDouble() * 2 - 1) * scale)).ToArray();
        string Matrix(string name, int rows, int cols) => m.Initializer(name, Weights(rows, cols, 1f / MathF.Sqrt(rows)), rows, cols);
        string Ones(string name, int n) => m.Initializer(name, Enumerable.Repeat(1f, n).ToArray(), n);
        string Scalar(string name, float value) => m.Initializer(name, [value]);
        string Ints(string name, params long[] values) => m.Initializer(name, values, values.Length);
        string Int(string name, long value) => m.Initializer(name, [value]);

        var half = d / 2;
        var (cos, sin) = RotaryTables(size.MaxPositions, d);
        var cosTable = m.Initializer("rope_cos", cos, size.MaxPositions, half);
        var sinTable = m.Initializer("rope_sin", sin, size.MaxPositions, half);
        var axis1 = Ints("axis_1", 1);
        var cosP = m.Op("Unsqueeze", m.Op("Gather", cosTable, "position_ids"), axis1); // [B, 1, S, d/2]
        var sinP = m.Op("Unsqueeze", m.Op("Gather", sinTable, "position_ids"), axis1);

        // Mask: key j is visible to query i when attention_mask[b, j] is 1 and j <= past + i.
        var one = Int("one", 1);
        var zero = Int("zero", 0);
        var seq = m.Op("Gather", [m.Op("Shape", "input_ids"), one], ("axis", 0L));
        var total = m.Op("Gather", [m.Op("Shape", "attention_mask"), one], ("axis", 0L));
        var past = m.Op("Sub", total, seq);
        var keyPositions = m.Op("Unsqueeze", m.Op("Range", zero, total, one), Ints("axis_0", 0));  // [1, T]
        var queryPositions = m.Op("Unsqueeze", m.Op("Range", past, total, one), axis1);            // [S, 1]
        var causal = m.Op("LessOrEqual", keyPositions, queryPositions);                                                                          // [S, T]
        var padding = m.Op("Unsqueeze", m.Op("Cast", ["attention_mask"], ("to", (long)OnnxType.Bool)), Ints("axes_12", 1, 2));                     // [B, 1, 1, T]
        var visible = m.Op("And", padding, causal);                                                                                              // [B, 1, S, T]
        var bias = m.Op("Where", visible, Scalar("zero_f", 0f), Scalar("masked", -1e9f));

        string RmsNorm(string x, string weight) => TinyDecoder.RmsNorm(m, x, weight);

        var headShapes = new Dictionary<int, string>();
        string Heads(string x, int count)
        {
            var shape = headShapes.TryGetValue(count, out var existing) ? existing : headShapes[count] = Ints($"shape_heads_{count}", 0, 0, count, d);
            return m.Op("Transpose", [m.Op("Reshape", x, shape)], ("perm", new long[] { 0, 2, 1, 3 }));
        }

        string Rotate(string x)
        {
            var parts = m.Node("Split", [x], [$"{x}_a", $"{x}_b"], ("axis", -1L));
            var (a, b) = (parts, $"{x}_b");
            var first = m.Op("Sub", m.Op("Mul", a, cosP), m.Op("Mul", b, sinP));
            var second = m.Op("Add", m.Op("Mul", b, cosP), m.Op("Mul", a, sinP));
            return m.Op("Concat", [first, second], ("axis", -1L));
        }

        var x = m.Op("Gather", m.Initializer("embed_tokens", Weights(vocab, h, 0.5f), vocab, h), "input_ids");
        var groups = Ints("gqa_groups", 1, 1, nh / nkv, 1, 1);
        var scale = Scalar("attention_scale", 1f / MathF.Sqrt(d));
        for (var layer = 0; layer < size.Layers; layer++)
        {
            var normed = RmsNorm(x, Ones($"l{layer}_input_norm", h));
            var q = Rotate(Heads(m.Op("MatMul", normed, Matrix($"l{layer}_q", h, nh * d)), nh));
            var k = Rotate(Heads(m.Op("MatMul", normed, Matrix($"l{layer}_k", h, nkv * d)), nkv));
            var v = Heads(m.Op("MatMul", normed, Matrix($"l{layer}_v", h, nkv * d)), nkv);
            var presentKey = Present($"past_key_values.{layer}.key", k, $"present.{layer}.key");
            var presentValue = Present($"past_key_values.{layer}.value", v, $"present.{layer}.value");

            // Grouped-query attention: each key/value head serves heads/kv_heads query heads.
            string Repeat(string kv) => m.Op("Reshape", m.Op("Expand", m.Op("Unsqueeze", kv, Ints($"axis2_{kv}", 2)), groups), Ints($"shape_rep_{kv}", 0, nh, -1, d));
            var scores = m.Op("Add", m.Op("Mul", m.Op("MatMul", q, m.Op("Transpose", [Repeat(presentKey)], ("perm", new long[] { 0, 1, 3, 2 }))), scale), bias);
            var attended = m.Op("MatMul", m.Op("Softmax", [scores], ("axis", -1L)), Repeat(presentValue));
            var merged = m.Op("Reshape", m.Op("Transpose", [attended], ("perm", new long[] { 0, 2, 1, 3 })), Ints($"l{layer}_merge", 0, 0, nh * d));
            x = m.Op("Add", x, m.Op("MatMul", merged, Matrix($"l{layer}_o", nh * d, h)));

            var mlpIn = RmsNorm(x, Ones($"l{layer}_post_norm", h));
            var gate = m.Op("MatMul", mlpIn, Matrix($"l{layer}_gate", h, size.Intermediate));
            var up = m.Op("MatMul", mlpIn, Matrix($"l{layer}_up", h, size.Intermediate));
            var swiglu = m.Op("Mul", m.Op("Mul", gate, m.Op("Sigmoid", gate)), up);
            x = m.Op("Add", x, m.Op("MatMul", swiglu, Matrix($"l{layer}_down", size.Intermediate, h)));
            m.Output($"present.{layer}.key", precision, "batch", nkv, "total", d);
            m.Output($"present.{layer}.value", precision, "batch", nkv, "total", d);
        }

        var final = RmsNorm(x, Ones("final_norm", h));
        var logits = precision == OnnxType.Float ? "logits" : "logits_float32";
        if (script is null)
        {
            m.Node("MatMul", [final, Matrix("lm_head", h, vocab)], [logits]);
        }
        else
        {
            var computed = m.Op("MatMul", final, Matrix("lm_head", h, vocab));
            m.Node("Add", [m.Op("Mul", computed, Scalar("silence", 0f)), m.Op("Gather", m.Initializer("script", script, vocab, vocab), "input_ids")], [logits]);
        }

        if (precision != OnnxType.Float)
        {
            m.Node("Cast", [logits], ["logits"], ("to", (long)precision));
        }

        m.Output("logits", precision, "batch", "sequence", vocab);
        return m;
    }
}
