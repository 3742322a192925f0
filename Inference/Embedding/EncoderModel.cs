using System.Numerics.Tensors;
using System.Text.Json;
using CustomerGrains.Inference.Generation;
using CustomerGrains.Inference.Onnx;
using CustomerGrains.Inference.Tokenization;
using Microsoft.ML.OnnxRuntime;

namespace CustomerGrains.Inference.Embedding;

/// <summary>
/// A sentence encoder in the Hugging Face optimum feature-extraction layout (a folder with config.json,
/// tokenizer.json and model.onnx taking input_ids and attention_mask, and token_type_ids when it has them). A text's
/// embedding is the model's sentence_embedding output when it has one, else its last_hidden_state pooled as
/// sentence-transformers' 1_Pooling/config.json says (mean over real tokens unless it asks for the CLS token), scaled
/// to unit length, so a dot product is the cosine. Loading checks the layout and names what is missing.
/// </summary>
public sealed class EncoderModel : IDisposable
{
    private readonly int _suffix;
    private readonly bool _hasTokenTypes;
    private readonly bool _pooledByModel;
    private readonly bool _clsPooling;

    private EncoderModel(string folder, TextTokenizer tokenizer, ModelSession session, int maxPositions, int hidden, (int[] Prefix, int[] Suffix) template, bool clsPooling)
    {
        Folder = folder;
        Tokenizer = tokenizer;
        Session = session;
        MaxPositions = maxPositions;
        _suffix = template.Suffix.Length;
        _clsPooling = clsPooling;
        _hasTokenTypes = session.Inputs.ContainsKey("token_type_ids");
        _pooledByModel = session.Outputs.ContainsKey("sentence_embedding");
        var output = session.Outputs[_pooledByModel ? "sentence_embedding" : "last_hidden_state"];
        Dimensions = output.Dimensions is [.., > 0 and var last] ? last : hidden > 0 ? hidden
            : throw new ModelLayoutException($"Neither model.onnx nor config.json in '{folder}' says how long an embedding is (hidden_size).");
    }

    public string Folder { get; }

    public TextTokenizer Tokenizer { get; }

    public ModelSession Session { get; }

    /// <summary>Tokens a text is cut to, special tokens included.</summary>
    public int MaxPositions { get; }

    /// <summary>Length of an embedding.</summary>
    public int Dimensions { get; }

    public static EncoderModel Load(string folder, SessionSettings settings)
    {
        RequireFiles(folder);
        return Load(folder, ModelSession.Open(Path.Combine(folder, "model.onnx"), settings));
    }

    /// <summary>Loads around an open session of folder/model.onnx, which it then owns (disposed on failure).</summary>
    internal static EncoderModel Load(string folder, ModelSession session)
    {
        try
        {
            RequireFiles(folder);
            CheckLayout(session, folder);
            using var config = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(folder, "config.json")));
            var maxPositions = config.RootElement.TryGetProperty("max_position_embeddings", out var positions) ? positions.GetInt32() : 512;
            var sentenceConfig = Path.Combine(folder, "sentence_bert_config.json");
            if (File.Exists(sentenceConfig))
            {
                // sentence-transformers cuts texts where the model was trained to (256 tokens for MiniLM), not at the
                // position table's end.
                using var sentence = JsonDocument.Parse(File.ReadAllBytes(sentenceConfig));
                if (sentence.RootElement.TryGetProperty("max_seq_length", out var length) && length.GetInt32() is > 2 and var cut)
                {
                    maxPositions = Math.Min(maxPositions, cut);
                }
            }

            var hidden = config.RootElement.TryGetProperty("hidden_size", out var size) ? size.GetInt32() : 0;
            using var json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(folder, "tokenizer.json")));
            var pooling = Path.Combine(folder, "1_Pooling", "config.json");
            var clsPooling = false;
            if (File.Exists(pooling))
            {
                using var poolingJson = JsonDocument.Parse(File.ReadAllBytes(pooling));
                clsPooling = poolingJson.RootElement.TryGetProperty("pooling_mode_cls_token", out var cls) && cls.ValueKind == JsonValueKind.True;
            }

            var template = Template(json.RootElement, folder);
            return new EncoderModel(folder, TextTokenizer.Load(Path.Combine(folder, "tokenizer.json")), session, maxPositions, hidden, template, clsPooling);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>Whether an opened model is a decoder with a KV cache (it takes past_key_values) rather than an encoder.</summary>
    public static bool IsDecoder(ModelSession session) => session.Inputs.Keys.Any(name => name.StartsWith("past_key_values.", StringComparison.Ordinal));

    private static void RequireFiles(string folder)
    {
        foreach (var file in new[] { "config.json", "tokenizer.json", "model.onnx" })
        {
            if (!File.Exists(Path.Combine(folder, file)))
            {
                throw new ModelLayoutException($"Model folder '{folder}' has no {file}; an encoder exported with Hugging Face optimum has config.json, tokenizer.json and model.onnx.");
            }
        }
    }

    /// <summary>Unit-length embeddings of <paramref name="texts"/>, computed as one batch.</summary>
    public float[][] Embed(IReadOnlyList<string> texts)
    {
        var encoded = texts.Select(Encode).ToList();
        var longest = encoded.Max(e => e.Length);
        var count = encoded.Count;
        var idData = new long[count * longest];
        var maskData = new long[count * longest];
        for (var row = 0; row < count; row++)
        {
            for (var i = 0; i < encoded[row].Length; i++)
            {
                idData[row * longest + i] = encoded[row][i];
                maskData[row * longest + i] = 1;
            }
        }

        using var ids = Tensors.Of<long>(idData, count, longest);
        using var mask = Tensors.Of<long>(maskData, count, longest);
        using var types = Tensors.Of<long>(new long[count * longest], count, longest);
        (string, OrtValue)[] inputs = _hasTokenTypes
            ? [("input_ids", ids), ("attention_mask", mask), ("token_type_ids", types)]
            : [("input_ids", ids), ("attention_mask", mask)];
        using var run = new ModelRun(Session);
        using var outputs = run.Run(inputs, [_pooledByModel ? "sentence_embedding" : "last_hidden_state"]);
        var embeddings = new float[count][];
        if (_pooledByModel)
        {
            var pooled = outputs.Get<float>("sentence_embedding", out _);
            for (var row = 0; row < count; row++)
            {
                embeddings[row] = Normalized(pooled.Slice(row * Dimensions, Dimensions).ToArray());
            }

            return embeddings;
        }

        var hidden = outputs.Get<float>("last_hidden_state", out _);
        for (var row = 0; row < count; row++)
        {
            var sum = new float[Dimensions];
            var tokens = _clsPooling ? 1 : encoded[row].Length; // real tokens lead the row; padding follows
            for (var i = 0; i < tokens; i++)
            {
                TensorPrimitives.Add(sum, hidden.Slice((row * longest + i) * Dimensions, Dimensions), sum);
            }

            embeddings[row] = Normalized(sum); // the mean's direction is the sum's
        }

        return embeddings;
    }

    private int[] Encode(string text, int index)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new ArgumentException($"Text {index} is empty; there is nothing to embed.");
        }

        // The tokenizer puts the post-processor's special tokens around the text; a text too long keeps its end token.
        var tokens = Tokenizer.Encode(text);
        return tokens.Length <= MaxPositions ? tokens : [.. tokens.AsSpan(0, MaxPositions - _suffix), .. tokens.AsSpan(tokens.Length - _suffix)];
    }

    private static float[] Normalized(float[] vector)
    {
        var norm = TensorPrimitives.Norm(vector);
        if (norm > 0)
        {
            TensorPrimitives.Divide(vector, norm, vector);
        }

        return vector;
    }

    /// <summary>The special tokens tokenizer.json's post-processor puts around a single text: BERT's [CLS] … [SEP],
    /// RoBERTa's &lt;s&gt; … &lt;/s&gt;, or a template's; none without one.</summary>
    internal static (int[] Prefix, int[] Suffix) Template(JsonElement root, string folder)
    {
        if (!root.TryGetProperty("post_processor", out var processor) || processor.ValueKind != JsonValueKind.Object)
        {
            return ([], []);
        }

        switch (processor.GetProperty("type").GetString())
        {
            case "BertProcessing" or "RobertaProcessing":
                return ([processor.GetProperty("cls")[1].GetInt32()], [processor.GetProperty("sep")[1].GetInt32()]);
            case "TemplateProcessing":
                var prefix = new List<int>();
                var suffix = new List<int>();
                var seen = false;
                foreach (var piece in processor.GetProperty("single").EnumerateArray())
                {
                    if (piece.TryGetProperty("Sequence", out _))
                    {
                        seen = true;
                        continue;
                    }

                    var name = piece.GetProperty("SpecialToken").GetProperty("id").GetString()!;
                    var ids = processor.GetProperty("special_tokens").GetProperty(name).GetProperty("ids").EnumerateArray().Select(i => i.GetInt32());
                    (seen ? suffix : prefix).AddRange(ids);
                }

                return ([.. prefix], [.. suffix]);
            case "Sequence":
                foreach (var inner in processor.GetProperty("processors").EnumerateArray())
                {
                    using var single = JsonDocument.Parse($"{{\"post_processor\":{inner.GetRawText()}}}");
                    if (Template(single.RootElement, folder) is { } found && (found.Prefix.Length > 0 || found.Suffix.Length > 0))
                    {
                        return found;
                    }
                }

                return ([], []);
            case "ByteLevel":
                return ([], []);
            case var other:
                throw new ModelLayoutException($"tokenizer.json in '{folder}' has a post-processor '{other}' this loader does not know.");
        }
    }

    private static void CheckLayout(ModelSession session, string folder)
    {
        if (IsDecoder(session))
        {
            throw new ModelLayoutException($"model.onnx in '{folder}' is a decoder (it takes past_key_values), not an encoder.");
        }

        var inputs = session.Inputs.Keys.ToHashSet();
        var missing = new[] { "input_ids", "attention_mask" }.Where(name => !inputs.Contains(name)).ToList();
        if (missing.Count > 0)
        {
            throw new ModelLayoutException($"model.onnx in '{folder}' has no input {string.Join(", ", missing.Select(m => $"'{m}'"))}; its inputs are {string.Join(", ", inputs)}.");
        }

        var unknown = inputs.Except(["input_ids", "attention_mask", "token_type_ids"]).ToList();
        if (unknown.Count > 0)
        {
            throw new ModelLayoutException($"model.onnx in '{folder}' takes {string.Join(", ", unknown.Select(u => $"'{u}'"))}, which an encoder is not given.");
        }

        if (!session.Outputs.Keys.Any(name => name is "last_hidden_state" or "sentence_embedding"))
        {
            throw new ModelLayoutException(
                $"model.onnx in '{folder}' has neither 'last_hidden_state' nor 'sentence_embedding' among its outputs ({string.Join(", ", session.Outputs.Keys)}). " +
                "Export it for feature extraction (optimum-cli export onnx --task feature-extraction).");
        }
    }

    public void Dispose()
    {
        Session.Dispose();
        Tokenizer.Dispose();
    }
}
