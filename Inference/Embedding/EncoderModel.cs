using System.Numerics.Tensors;
using System.Text.Json;
using CustomerGrains.Inference.Generation;
using CustomerGrains.Inference.Native;
using CustomerGrains.Inference.Tokenization;

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
    private readonly int[] _prefix;
    private readonly int[] _suffix;
    private readonly bool _hasTokenTypes;
    private readonly bool _pooledByModel;
    private readonly bool _clsPooling;

    private EncoderModel(string folder, ITextTokenizer tokenizer, OrtSession session, OrtRuntime runtime, int maxPositions, int hidden, (int[] Prefix, int[] Suffix) template, bool clsPooling)
    {
        Folder = folder;
        Tokenizer = tokenizer;
        Session = session;
        Runtime = runtime;
        MaxPositions = maxPositions;
        (_prefix, _suffix) = template;
        _clsPooling = clsPooling;
        _hasTokenTypes = session.Inputs.Any(i => i.Name == "token_type_ids");
        _pooledByModel = session.Outputs.Any(o => o.Name == "sentence_embedding");
        var output = session.Outputs.First(o => o.Name == (_pooledByModel ? "sentence_embedding" : "last_hidden_state"));
        Dimensions = output.Shape is [.., > 0 and var last] ? (int)last : hidden > 0 ? hidden
            : throw new ModelLayoutException($"Neither model.onnx nor config.json in '{folder}' says how long an embedding is (hidden_size).");
    }

    public string Folder { get; }

    public ITextTokenizer Tokenizer { get; }

    public OrtSession Session { get; }

    public OrtRuntime Runtime { get; }

    /// <summary>Tokens a text is cut to, special tokens included.</summary>
    public int MaxPositions { get; }

    /// <summary>Length of an embedding.</summary>
    public int Dimensions { get; }

    public static EncoderModel Load(OrtRuntime runtime, string folder, SessionSettings settings)
    {
        RequireFiles(folder);
        return Load(runtime, folder, runtime.OpenSession(Path.Combine(folder, "model.onnx"), settings));
    }

    /// <summary>Loads around an open session of folder/model.onnx, which it then owns (disposed on failure).</summary>
    internal static EncoderModel Load(OrtRuntime runtime, string folder, OrtSession session)
    {
        try
        {
            RequireFiles(folder);
            CheckLayout(session, folder);
            using var config = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(folder, "config.json")));
            var maxPositions = config.RootElement.TryGetProperty("max_position_embeddings", out var positions) ? positions.GetInt32() : 512;
            var hidden = config.RootElement.TryGetProperty("hidden_size", out var size) ? size.GetInt32() : 0;
            var tokenizer = TextTokenizer.Load(Path.Combine(folder, "tokenizer.json"));
            using var json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(folder, "tokenizer.json")));
            var pooling = Path.Combine(folder, "1_Pooling", "config.json");
            var clsPooling = false;
            if (File.Exists(pooling))
            {
                using var poolingJson = JsonDocument.Parse(File.ReadAllBytes(pooling));
                clsPooling = poolingJson.RootElement.TryGetProperty("pooling_mode_cls_token", out var cls) && cls.ValueKind == JsonValueKind.True;
            }

            return new EncoderModel(folder, tokenizer, session, runtime, maxPositions, hidden, Template(json.RootElement, folder), clsPooling);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>Whether an opened model is a decoder with a KV cache (it takes past_key_values) rather than an encoder.</summary>
    public static bool IsDecoder(OrtSession session) => session.Inputs.Any(i => i.Name.StartsWith("past_key_values.", StringComparison.Ordinal));

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
        using var ids = Runtime.CreateTensor<long>([count, longest]);
        using var mask = Runtime.CreateTensor<long>([count, longest]);
        using var types = Runtime.CreateTensor<long>([count, longest]);
        ids.Data.Clear();
        mask.Data.Clear();
        types.Data.Clear();
        for (var row = 0; row < count; row++)
        {
            for (var i = 0; i < encoded[row].Length; i++)
            {
                ids.Data[row * longest + i] = encoded[row][i];
                mask.Data[row * longest + i] = 1;
            }
        }

        OrtInput[] inputs = _hasTokenTypes
            ? [OrtInput.Of("input_ids", ids), OrtInput.Of("attention_mask", mask), OrtInput.Of("token_type_ids", types)]
            : [OrtInput.Of("input_ids", ids), OrtInput.Of("attention_mask", mask)];
        using var outputs = Session.Run(inputs, [_pooledByModel ? "sentence_embedding" : "last_hidden_state"]);
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

        var tokens = Tokenizer.Encode(text);
        var room = MaxPositions - _prefix.Length - _suffix.Length;
        return [.. _prefix, .. tokens.AsSpan(0, Math.Min(tokens.Length, room)), .. _suffix];
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

    private static void CheckLayout(OrtSession session, string folder)
    {
        if (IsDecoder(session))
        {
            throw new ModelLayoutException($"model.onnx in '{folder}' is a decoder (it takes past_key_values), not an encoder.");
        }

        var inputs = session.Inputs.Select(i => i.Name).ToHashSet();
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

        if (!session.Outputs.Any(o => o.Name is "last_hidden_state" or "sentence_embedding"))
        {
            throw new ModelLayoutException(
                $"model.onnx in '{folder}' has neither 'last_hidden_state' nor 'sentence_embedding' among its outputs ({string.Join(", ", session.Outputs.Select(o => o.Name))}). " +
                "Export it for feature extraction (optimum-cli export onnx --task feature-extraction).");
        }
    }

    public void Dispose() => Session.Dispose();
}
