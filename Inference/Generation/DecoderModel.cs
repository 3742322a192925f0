using System.Text.Json;
using CustomerGrains.Inference.Native;
using CustomerGrains.Inference.Tokenization;

namespace CustomerGrains.Inference.Generation;

/// <summary>A model folder that does not have the layout of a decoder exported with its KV cache.</summary>
public sealed class ModelLayoutException(string message) : Exception(message);

/// <summary>What config.json says about the decoder.</summary>
public sealed record DecoderConfig(int VocabSize, int Heads, int KvHeads, int HeadDim, int Layers, int MaxPositions, IReadOnlySet<int> EosTokenIds)
{
    public static DecoderConfig Read(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = document.RootElement;
        int Int(string name) => root.TryGetProperty(name, out var value) ? value.GetInt32() : throw new ModelLayoutException($"{path} has no '{name}'.");
        var heads = Int("num_attention_heads");
        var hidden = Int("hidden_size");
        var kvHeads = root.TryGetProperty("num_key_value_heads", out var kv) ? kv.GetInt32() : heads; // GPT-2: no GQA
        var headDim = root.TryGetProperty("head_dim", out var hd) ? hd.GetInt32() : hidden / heads;
        var eos = root.TryGetProperty("eos_token_id", out var e)
            ? e.ValueKind == JsonValueKind.Array ? e.EnumerateArray().Select(x => x.GetInt32()).ToHashSet() : [e.GetInt32()]
            : new HashSet<int>();
        var positions = root.TryGetProperty("max_position_embeddings", out var mp) ? mp.GetInt32() : root.TryGetProperty("n_positions", out var np) ? np.GetInt32() : 2048;
        var layers = root.TryGetProperty("num_hidden_layers", out var nl) ? nl.GetInt32() : Int("n_layer");
        return new DecoderConfig(Int("vocab_size"), heads, kvHeads, headDim, layers, positions, eos);
    }
}

/// <summary>
/// A decoder-only language model in the Hugging Face optimum layout (a folder with config.json, tokenizer.json and
/// model.onnx exported with past key values). Loading checks the layout, so a wrong model fails here, naming what is
/// missing, not at the first request.
/// </summary>
public sealed class DecoderModel : IDisposable
{
    private DecoderModel(string folder, DecoderConfig config, BpeTokenizer tokenizer, OrtSession session, OrtRuntime runtime)
    {
        Folder = folder;
        Config = config;
        Tokenizer = tokenizer;
        Session = session;
        Runtime = runtime;
        HasPositionIds = session.Inputs.Any(i => i.Name == "position_ids");
        OutputNames = ["logits", .. Enumerable.Range(0, config.Layers).SelectMany(i => new[] { $"present.{i}.key", $"present.{i}.value" })];
    }

    public string Folder { get; }

    public DecoderConfig Config { get; }

    public BpeTokenizer Tokenizer { get; }

    public OrtSession Session { get; }

    public OrtRuntime Runtime { get; }

    /// <summary>Whether the model takes position_ids (Llama, Qwen2 and GPT-2 exports do; some older ones do not).</summary>
    public bool HasPositionIds { get; }

    internal string[] OutputNames { get; }

    public static DecoderModel Load(OrtRuntime runtime, string folder, SessionSettings settings)
    {
        foreach (var file in new[] { "config.json", "tokenizer.json", "model.onnx" })
        {
            if (!File.Exists(Path.Combine(folder, file)))
            {
                throw new ModelLayoutException($"Model folder '{folder}' has no {file}; a decoder exported with Hugging Face optimum has config.json, tokenizer.json and model.onnx.");
            }
        }

        return Load(runtime, folder, runtime.OpenSession(Path.Combine(folder, "model.onnx"), settings));
    }

    /// <summary>Loads around an open session of folder/model.onnx, which it then owns (disposed on failure).</summary>
    internal static DecoderModel Load(OrtRuntime runtime, string folder, OrtSession session)
    {
        try
        {
            var config = DecoderConfig.Read(Path.Combine(folder, "config.json"));
            var tokenizer = BpeTokenizer.Load(Path.Combine(folder, "tokenizer.json"));
            CheckLayout(session, config, folder);
            return new DecoderModel(folder, config, tokenizer, session, runtime);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    private static void CheckLayout(OrtSession session, DecoderConfig config, string folder)
    {
        var inputs = session.Inputs.ToDictionary(i => i.Name);
        var outputs = session.Outputs.Select(o => o.Name).ToHashSet();
        var required = new List<string> { "input_ids", "attention_mask" };
        for (var i = 0; i < config.Layers; i++)
        {
            required.Add($"past_key_values.{i}.key");
            required.Add($"past_key_values.{i}.value");
        }

        var missing = required.Where(name => !inputs.ContainsKey(name)).ToList();
        if (missing.Count > 0)
        {
            throw new ModelLayoutException(
                $"model.onnx in '{folder}' has no input {string.Join(", ", missing.Select(m => $"'{m}'"))}; its inputs are {string.Join(", ", inputs.Keys)}. " +
                "Export the model with its KV cache (optimum-cli export onnx --task text-generation-with-past).");
        }

        var missingOutputs = new[] { "logits" }.Concat(Enumerable.Range(0, config.Layers).SelectMany(i => new[] { $"present.{i}.key", $"present.{i}.value" }))
            .Where(name => !outputs.Contains(name)).ToList();
        if (missingOutputs.Count > 0)
        {
            throw new ModelLayoutException($"model.onnx in '{folder}' has no output {string.Join(", ", missingOutputs.Select(m => $"'{m}'"))}.");
        }

        if (inputs["past_key_values.0.key"].ElementType != OrtElementType.Float)
        {
            throw new ModelLayoutException($"model.onnx in '{folder}' keeps its KV cache as {inputs["past_key_values.0.key"].ElementType}; only float32 exports are supported.");
        }

        if (inputs.ContainsKey("use_cache_branch"))
        {
            throw new ModelLayoutException($"model.onnx in '{folder}' is a merged export (use_cache_branch); export it without merging (--no-post-process).");
        }
    }

    public void Dispose() => Session.Dispose();
}
