using System.Text.Json;
using CustomerGrains.Inference.Onnx;

namespace CustomerGrains.ModelMaker;

/// <summary>How an onnxruntime-genai builder output keeps its weights and cache.</summary>
public enum GenAiPrecision
{
    /// <summary>The builder's CPU int4 output: every projection a MatMulNBits of 4-bit blocks of 32 (symmetric, zero
    /// point 8), activations, KV cache and logits float32.</summary>
    Int4,

    /// <summary>The builder's CUDA fp16 output: KV cache, attention and logits float16. (The tiny model's other
    /// arithmetic stays float32 between casts, so ONNX Runtime's CPU kernels run it too.)</summary>
    Float16,
}

/// <summary>
/// Writes a Llama/Qwen2-style decoder with random weights in exactly the layout of onnxruntime-genai's model builder:
/// a folder with genai_config.json (no config.json), tokenizer.json and model.onnx whose inputs are input_ids,
/// attention_mask and past_key_values.{i}.key/value [batch, kv_heads, past, head_dim] (no position_ids: rotary is
/// fused into attention), whose outputs are logits and present.{i}.key/value, and whose attention is ONNX Runtime's
/// GroupQueryAttention (com.microsoft) fed, as the builder feeds it, seqlens_k = sum(attention_mask) - 1 and
/// total_sequence_length = attention_mask's width, with its cos/sin caches. GroupQueryAttention writes each row's new
/// keys at that row's own length, so a batch's rows are packed from index 0 (right-aligned), never left-padded.
/// </summary>
public static class GenAiDecoder
{
    /// <summary>The builder's default int4 block size.</summary>
    public const int BlockSize = 32;

    public static void Write(string folder, DecoderSize size, GenAiPrecision precision = GenAiPrecision.Int4, int seed = 42, int merges = 300)
    {
        var tokens = TinyDecoder.WriteTokenizer(folder, merges);
        var vocab = Math.Max(tokens, size.Vocab);
        var eos = tokens - 1; // <|im_end|>
        File.WriteAllText(Path.Combine(folder, "genai_config.json"), JsonSerializer.Serialize(new
        {
            model = new
            {
                bos_token_id = tokens - 2,
                context_length = size.MaxPositions,
                decoder = new
                {
                    session_options = new { log_id = "onnxruntime-genai", provider_options = Array.Empty<object>() },
                    filename = "model.onnx",
                    head_size = size.HeadDim,
                    hidden_size = size.Hidden,
                    inputs = new
                    {
                        input_ids = "input_ids",
                        attention_mask = "attention_mask",
                        past_key_names = "past_key_values.%d.key",
                        past_value_names = "past_key_values.%d.value",
                    },
                    outputs = new { logits = "logits", present_key_names = "present.%d.key", present_value_names = "present.%d.value" },
                    num_attention_heads = size.Heads,
                    num_hidden_layers = size.Layers,
                    num_key_value_heads = size.KvHeads,
                },
                eos_token_id = new[] { eos },
                pad_token_id = eos,
                type = "qwen2",
                vocab_size = vocab,
            },
            search = new { do_sample = false, max_length = size.MaxPositions, past_present_share_buffer = true, num_beams = 1 },
        }, new JsonSerializerOptions { WriteIndented = true }));
        Build(size, vocab, seed, precision).Save(Path.Combine(folder, "model.onnx"));
    }

    private static OnnxModel Build(DecoderSize size, int vocab, int seed, GenAiPrecision precision)
    {
        var random = new Random(seed);
        var (h, nh, nkv, d) = (size.Hidden, size.Heads, size.KvHeads, size.HeadDim);
        var edge = precision == GenAiPrecision.Float16 ? OnnxType.Float16 : OnnxType.Float;
        var m = new OnnxModel("genai-decoder");
        m.Input("input_ids", OnnxType.Int64, "batch_size", "sequence_length");
        m.Input("attention_mask", OnnxType.Int64, "batch_size", "total_sequence_length");
        for (var i = 0; i < size.Layers; i++)
        {
            m.Input($"past_key_values.{i}.key", edge, "batch_size", nkv, "past_sequence_length", d);
            m.Input($"past_key_values.{i}.value", edge, "batch_size", nkv, "past_sequence_length", d);
        }

        string ToEdge(string x) => edge == OnnxType.Float ? x : m.Op("Cast", [x], ("to", (long)edge));
        string FromEdge(string x) => edge == OnnxType.Float ? x : m.Op("Cast", [x], ("to", (long)OnnxType.Float));

        // A projection [.., K] -> [.., N] of random weights: int4 blocks through MatMulNBits, or a plain MatMul.
        string Linear(string x, string name, int k, int n)
        {
            var weights = new float[k * n];
            var scale = 1f / MathF.Sqrt(k);
            for (var i = 0; i < weights.Length; i++)
            {
                weights[i] = (float)((random.NextDouble() * 2 - 1) * scale);
            }

            if (precision != GenAiPrecision.Int4)
            {
                return m.Op("MatMul", x, m.Initializer(name, weights, k, n));
            }

            var (packed, scales, blocks) = QuantizeInt4(weights, k, n);
            return m.ContribNode("MatMulNBits", [x, m.Initializer($"{name}.qweight", packed, n, blocks, BlockSize / 2), m.Initializer($"{name}.scales", scales, n * blocks)],
                [$"{name}_out"], ("K", (long)k), ("N", (long)n), ("bits", 4L), ("block_size", (long)BlockSize));
        }

        // What the builder derives from the 2D attention mask for GroupQueryAttention.
        var lengths = m.Op("ReduceSum", ["attention_mask", m.Initializer("axis_1", new long[] { 1 }, 1)], ("keepdims", 0L));
        var seqlensK = m.Op("Cast", [m.Op("Sub", lengths, m.Initializer("one_i64", [1L]))], ("to", (long)OnnxType.Int32));
        var total = m.Op("Cast", [m.Op("Gather", [m.Op("Shape", "attention_mask"), m.Initializer("index_1", [1L])], ("axis", 0L))], ("to", (long)OnnxType.Int32));
        var (cos, sin) = TinyDecoder.RotaryTables(size.MaxPositions, d);
        var cosCache = ToEdge(m.Initializer("cos_cache", cos, size.MaxPositions, d / 2));
        var sinCache = ToEdge(m.Initializer("sin_cache", sin, size.MaxPositions, d / 2));

        var embed = new float[vocab * h];
        for (var i = 0; i < embed.Length; i++)
        {
            embed[i] = (float)((random.NextDouble() * 2 - 1) * 0.5);
        }

        var x = m.Op("Gather", m.Initializer("embed_tokens", embed, vocab, h), "input_ids");
        string Norm(string name) => m.Initializer(name, Enumerable.Repeat(1f, h).ToArray(), h);
        for (var layer = 0; layer < size.Layers; layer++)
        {
            var normed = TinyDecoder.RmsNorm(m, x, Norm($"l{layer}.input_layernorm"));
            var q = ToEdge(Linear(normed, $"l{layer}.q_proj", h, nh * d));
            var k = ToEdge(Linear(normed, $"l{layer}.k_proj", h, nkv * d));
            var v = ToEdge(Linear(normed, $"l{layer}.v_proj", h, nkv * d));
            var attended = m.ContribNode("GroupQueryAttention",
                [q, k, v, $"past_key_values.{layer}.key", $"past_key_values.{layer}.value", seqlensK, total, cosCache, sinCache],
                [$"l{layer}.attn", $"present.{layer}.key", $"present.{layer}.value"],
                ("num_heads", (long)nh), ("kv_num_heads", (long)nkv), ("do_rotary", 1L), ("rotary_interleaved", 0L), ("scale", 1f / MathF.Sqrt(d)));
            x = m.Op("Add", x, Linear(FromEdge(attended), $"l{layer}.o_proj", nh * d, h));

            var mlpIn = TinyDecoder.RmsNorm(m, x, Norm($"l{layer}.post_attention_layernorm"));
            var gate = Linear(mlpIn, $"l{layer}.gate_proj", h, size.Intermediate);
            var up = Linear(mlpIn, $"l{layer}.up_proj", h, size.Intermediate);
            x = m.Op("Add", x, Linear(m.Op("Mul", m.Op("Mul", gate, m.Op("Sigmoid", gate)), up), $"l{layer}.down_proj", size.Intermediate, h));
            m.Output($"present.{layer}.key", edge, "batch_size", nkv, "total_sequence_length", d);
            m.Output($"present.{layer}.value", edge, "batch_size", nkv, "total_sequence_length", d);
        }

        var logits = Linear(TinyDecoder.RmsNorm(m, x, Norm("norm")), "lm_head", h, vocab);
        if (edge == OnnxType.Float)
        {
            m.Node("Identity", [logits], ["logits"]);
        }
        else
        {
            m.Node("Cast", [logits], ["logits"], ("to", (long)edge));
        }

        m.Output("logits", edge, "batch_size", "sequence_length", vocab);
        return m;
    }

    /// <summary>
    /// MatMulNBits' int4 layout of a [K, N] weight: for each output column n and each block of 32 rows of K, 16 bytes of
    /// 4-bit codes (low nibble first) and one scale; symmetric, so the default zero point 8 applies:
    /// weight = (code - 8) × scale.
    /// </summary>
    internal static (byte[] Packed, float[] Scales, int Blocks) QuantizeInt4(float[] weights, int k, int n)
    {
        var blocks = (k + BlockSize - 1) / BlockSize;
        var packed = new byte[n * blocks * BlockSize / 2];
        var scales = new float[n * blocks];
        for (var column = 0; column < n; column++)
        {
            for (var block = 0; block < blocks; block++)
            {
                var largest = 0f;
                for (var j = 0; j < BlockSize && block * BlockSize + j < k; j++)
                {
                    largest = Math.Max(largest, Math.Abs(weights[(block * BlockSize + j) * n + column]));
                }

                var scale = largest > 0 ? largest / 7f : 1f;
                scales[column * blocks + block] = scale;
                for (var j = 0; j < BlockSize; j++)
                {
                    var row = block * BlockSize + j;
                    var code = row < k ? Math.Clamp((int)MathF.Round(weights[row * n + column] / scale) + 8, 0, 15) : 8;
                    packed[(column * blocks + block) * (BlockSize / 2) + j / 2] |= (byte)(j % 2 == 0 ? code : code << 4);
                }
            }
        }

        return (packed, scales, blocks);
    }
}
