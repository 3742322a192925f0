using System.Text.Json;
using CustomerGrains.Inference.Onnx;

namespace CustomerGrains.ModelMaker;

/// <summary>
/// Writes a BERT-style sentence encoder with random weights in the Hugging Face optimum feature-extraction layout: a
/// folder with config.json, tokenizer.json and model.onnx whose inputs are input_ids, attention_mask and
/// token_type_ids [batch, sequence] and whose output is last_hidden_state [batch, sequence, hidden]. Token, position
/// and type embeddings, post-norm layers of bidirectional attention (padding masked) and a GELU MLP. Attention and
/// MLP weights are small beside the token embeddings, so a text's mean-pooled vector is close to the mean of its
/// tokens' embeddings: texts sharing tokens come out closer than texts that share none, as a trained encoder's would
/// for shared meaning. The loader reads it exactly as it reads a real export.
/// </summary>
public static class TinyEncoder
{
    public const int Hidden = 32;
    public const int Heads = 4;
    public const int Layers = 2;
    public const int Intermediate = 64;
    public const int MaxPositions = 512;

    /// <param name="multilingual">Shaped as an XLM-R export (multilingual-e5): a Unigram tokenizer with byte
    /// fallback, no token_type_ids input, model_type xlm-roberta. Otherwise BERT-shaped with a byte-level BPE tokenizer.</param>
    public static void Write(string folder, int seed = 7, int merges = 300, bool multilingual = false)
    {
        Directory.CreateDirectory(folder);
        var tokenizer = multilingual ? TokenizerJson.CreateUnigram(TokenizerJson.SupportCorpus) : TokenizerJson.Create(TokenizerFamily.Qwen2, TokenizerJson.SupportCorpus, merges);
        File.WriteAllText(Path.Combine(folder, "tokenizer.json"), tokenizer);
        using var document = JsonDocument.Parse(tokenizer);
        var vocab = multilingual
            ? document.RootElement.GetProperty("model").GetProperty("vocab").GetArrayLength()
            : document.RootElement.GetProperty("model").GetProperty("vocab").EnumerateObject().Count() + TokenizerJson.SpecialTokens.Length;
        File.WriteAllText(Path.Combine(folder, "config.json"), JsonSerializer.Serialize(new
        {
            model_type = multilingual ? "xlm-roberta" : "bert",
            architectures = new[] { multilingual ? "XLMRobertaModel" : "BertModel" },
            vocab_size = vocab,
            hidden_size = Hidden,
            num_attention_heads = Heads,
            num_hidden_layers = Layers,
            intermediate_size = Intermediate,
            max_position_embeddings = MaxPositions,
            type_vocab_size = multilingual ? 1 : 2,
            layer_norm_eps = 1e-12,
        }, new JsonSerializerOptions { WriteIndented = true }));
        Build(vocab, seed, tokenTypes: !multilingual).Save(Path.Combine(folder, "model.onnx"));
    }

    private static OnnxModel Build(int vocab, int seed, bool tokenTypes)
    {
        var random = new Random(seed);
        const int d = Hidden / Heads;
        var m = new OnnxModel("tiny-encoder");
        m.Input("input_ids", OnnxType.Int64, "batch", "sequence");
        m.Input("attention_mask", OnnxType.Int64, "batch", "sequence");
        if (tokenTypes)
        {
            m.Input("token_type_ids", OnnxType.Int64, "batch", "sequence");
        }

        float[] Weights(int count, float scale) => Enumerable.Range(0, count).Select(_ => (float)((random.NextDouble() * 2 - 1) * scale)).ToArray();
        string Matrix(string name, int rows, int cols, float scale) => m.Initializer(name, Weights(rows * cols, scale), rows, cols);
        string Vector(string name, float value, int n) => m.Initializer(name, Enumerable.Repeat(value, n).ToArray(), n);
        string Scalar(string name, float value) => m.Initializer(name, [value]);
        string Ints(string name, params long[] values) => m.Initializer(name, values, values.Length);
        string Int(string name, long value) => m.Initializer(name, [value]); // a scalar
        string LayerNorm(string x, string name) =>
            m.Op("LayerNormalization", [x, Vector($"{name}_gamma", 1f, Hidden), Vector($"{name}_beta", 0f, Hidden)], ("axis", -1L), ("epsilon", 1e-12f));

        // Embeddings: token + position (0..sequence-1) + token type (XLM-R has none).
        var sequence = m.Op("Gather", [m.Op("Shape", "input_ids"), Int("one", 1)], ("axis", 0L));
        var positions = m.Op("Range", Int("zero", 0), sequence, Int("step", 1));
        var x = m.Op("Add",
            m.Op("Gather", Matrix("word_embeddings", vocab, Hidden, 1f), "input_ids"),
            m.Op("Gather", Matrix("position_embeddings", MaxPositions, Hidden, 0.02f), positions));
        if (tokenTypes)
        {
            x = m.Op("Add", x, m.Op("Gather", Matrix("token_type_embeddings", 2, Hidden, 0.02f), "token_type_ids"));
        }

        x = LayerNorm(x, "embeddings_norm");

        // Padding: a key whose attention_mask is 0 gets a large negative bias, for every query.
        var visible = m.Op("Unsqueeze", m.Op("Cast", ["attention_mask"], ("to", (long)OnnxType.Bool)), Ints("axes_12", 1, 2)); // [B, 1, 1, S]
        var bias = m.Op("Where", visible, Scalar("zero_f", 0f), Scalar("masked", -1e9f));
        var headShape = Ints("shape_heads", 0, 0, Heads, d);
        string Split(string t) => m.Op("Transpose", [m.Op("Reshape", t, headShape)], ("perm", new long[] { 0, 2, 1, 3 }));
        var small = 0.1f / MathF.Sqrt(Hidden);
        for (var layer = 0; layer < Layers; layer++)
        {
            var q = Split(m.Op("MatMul", x, Matrix($"l{layer}_q", Hidden, Hidden, 1f / MathF.Sqrt(Hidden))));
            var k = Split(m.Op("MatMul", x, Matrix($"l{layer}_k", Hidden, Hidden, 1f / MathF.Sqrt(Hidden))));
            var v = Split(m.Op("MatMul", x, Matrix($"l{layer}_v", Hidden, Hidden, 1f / MathF.Sqrt(Hidden))));
            var scores = m.Op("Add", m.Op("Mul", m.Op("MatMul", q, m.Op("Transpose", [k], ("perm", new long[] { 0, 1, 3, 2 }))), Scalar($"l{layer}_scale", 1f / MathF.Sqrt(d))), bias);
            var attended = m.Op("MatMul", m.Op("Softmax", [scores], ("axis", -1L)), v);
            var merged = m.Op("Reshape", m.Op("Transpose", [attended], ("perm", new long[] { 0, 2, 1, 3 })), Ints($"l{layer}_merge", 0, 0, Hidden));
            x = LayerNorm(m.Op("Add", x, m.Op("MatMul", merged, Matrix($"l{layer}_o", Hidden, Hidden, small))), $"l{layer}_attention_norm");

            // GELU, tanh-free: x * sigmoid(1.702 x).
            var up = m.Op("MatMul", x, Matrix($"l{layer}_up", Hidden, Intermediate, 1f / MathF.Sqrt(Hidden)));
            var gelu = m.Op("Mul", up, m.Op("Sigmoid", m.Op("Mul", up, Scalar($"l{layer}_gelu", 1.702f))));
            x = LayerNorm(m.Op("Add", x, m.Op("MatMul", gelu, Matrix($"l{layer}_down", Intermediate, Hidden, small))), $"l{layer}_output_norm");
        }

        m.Node("Identity", [x], ["last_hidden_state"]);
        m.Output("last_hidden_state", OnnxType.Float, "batch", "sequence", Hidden);
        return m;
    }
}
