using System.Text.Json;
using CustomerGrains.Inference.Onnx;
using CustomerGrains.Inference.Tokenization;
using Microsoft.ML.OnnxRuntime.Tensors;

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
        // The end-of-sequence ids of config.json and of generation_config.json together: Phi-3.5's end of turn (32007)
        // is only in the latter, Llama 3's config.json lists three.
        var eos = EosIds(root);
        var generation = Path.Combine(Path.GetDirectoryName(path) ?? ".", "generation_config.json");
        if (File.Exists(generation))
        {
            using var generationDocument = JsonDocument.Parse(File.ReadAllBytes(generation));
            eos.UnionWith(EosIds(generationDocument.RootElement));
        }

        var positions = root.TryGetProperty("max_position_embeddings", out var mp) ? mp.GetInt32() : root.TryGetProperty("n_positions", out var np) ? np.GetInt32() : 2048;
        var layers = root.TryGetProperty("num_hidden_layers", out var nl) ? nl.GetInt32() : Int("n_layer");
        return new DecoderConfig(Int("vocab_size"), heads, kvHeads, headDim, layers, positions, eos);
    }

    private static HashSet<int> EosIds(JsonElement root) =>
        root.TryGetProperty("eos_token_id", out var e)
            ? e.ValueKind == JsonValueKind.Array ? e.EnumerateArray().Select(x => x.GetInt32()).ToHashSet() : e.ValueKind == JsonValueKind.Number ? [e.GetInt32()] : []
            : [];
}

/// <summary>
/// A decoder-only language model in the Hugging Face optimum layout (a folder with config.json, tokenizer.json and
/// model.onnx exported with past key values). Loading checks the layout, so a wrong model fails here, naming what is
/// missing, not at the first request.
/// </summary>
public sealed class DecoderModel : IDisposable
{
    private DecoderModel(string folder, DecoderConfig config, TextTokenizer tokenizer, ModelSession session, Chat.ChatTemplate? template)
    {
        Folder = folder;
        Template = template;
        Config = config;
        Tokenizer = tokenizer;
        Session = session;
        HasPositionIds = session.Inputs.ContainsKey("position_ids");
        KvType = session.Inputs["past_key_values.0.key"].ElementDataType;
        OutputNames = ["logits", .. Enumerable.Range(0, config.Layers).SelectMany(i => new[] { $"present.{i}.key", $"present.{i}.value" })];
        PastNames = [.. Enumerable.Range(0, config.Layers).SelectMany(i => new[] { $"past_key_values.{i}.key", $"past_key_values.{i}.value" })];
    }

    public string Folder { get; }

    public DecoderConfig Config { get; }

    public TextTokenizer Tokenizer { get; }

    public ModelSession Session { get; }

    /// <summary>The model's own chat format (tokenizer_config.json's <c>chat_template</c>); null: ChatML.</summary>
    public Chat.ChatTemplate? Template { get; }

    /// <summary>A chat prompt as this model reads it: in its own template, else in ChatML.</summary>
    public string RenderChat(IReadOnlyList<Chat.ChatTurn> turns) => Template?.Render(turns) ?? Chat.ChatMl.Render(turns);

    /// <summary>The prompt's ids; a BOS the template wrote and the tokenizer's post-processor added again is kept once.</summary>
    public int[] EncodePrompt(string prompt)
    {
        var ids = Tokenizer.Encode(prompt);
        return ids.Length >= 2 && ids[0] == ids[1] && Template?.BosToken is { Length: > 0 } bos && Tokenizer.SpecialTokens.TryGetValue(bos, out var bosId) && ids[0] == bosId
            ? ids[1..]
            : ids;
    }

    /// <summary>The KV cache's element type: float32, or float16 / bfloat16 for fp16 and bf16 exports (kept so in the
    /// batch's cache; only the logits are converted, for sampling).</summary>
    public TensorElementType KvType { get; }

    /// <summary>What one cached position of one row costs: keys and values of every layer, in <see cref="KvType"/>.</summary>
    public long KvBytesPerToken => 2L * Config.Layers * Config.KvHeads * Config.HeadDim * Onnx.Tensors.SizeOf(KvType);

    /// <summary>Whether the model takes position_ids (Llama, Qwen2 and GPT-2 exports do; some older ones do not).</summary>
    public bool HasPositionIds { get; }

    internal string[] OutputNames { get; }

    /// <summary>past_key_values.{layer}.key and .value, layer by layer.</summary>
    internal string[] PastNames { get; }

    public static DecoderModel Load(string folder, SessionSettings settings)
    {
        foreach (var file in new[] { "config.json", "tokenizer.json", "model.onnx" })
        {
            if (!File.Exists(Path.Combine(folder, file)))
            {
                throw new ModelLayoutException($"Model folder '{folder}' has no {file}; a decoder exported with Hugging Face optimum has config.json, tokenizer.json and model.onnx.");
            }
        }

        return Load(folder, ModelSession.Open(Path.Combine(folder, "model.onnx"), settings));
    }

    /// <summary>Loads around an open session of folder/model.onnx, which it then owns (disposed on failure).</summary>
    internal static DecoderModel Load(string folder, ModelSession session)
    {
        try
        {
            var config = DecoderConfig.Read(Path.Combine(folder, "config.json"));
            CheckLayout(session, config, folder);
            var tokenizer = TextTokenizer.Load(Path.Combine(folder, "tokenizer.json"));
            Chat.ChatTemplate? template;
            try
            {
                // Rendered once now, so a template that cannot be rendered here stops the load, not the first request.
                template = Chat.ChatTemplate.Load(Path.Combine(folder, "tokenizer_config.json"));
                template?.Render([new Chat.ChatTurn(Chat.ChatTurnRole.System, "You help."), new Chat.ChatTurn(Chat.ChatTurnRole.User, "Hello?")]);
            }
            catch (Chat.ChatTemplateException ex)
            {
                throw new ModelLayoutException($"{Path.Combine(folder, "tokenizer_config.json")}: {ex.Message}");
            }

            return new DecoderModel(folder, config, tokenizer, session, template);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    private static void CheckLayout(ModelSession session, DecoderConfig config, string folder)
    {
        var inputs = session.Inputs;
        var outputs = session.Outputs;
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
            .Where(name => !outputs.ContainsKey(name)).ToList();
        if (missingOutputs.Count > 0)
        {
            throw new ModelLayoutException($"model.onnx in '{folder}' has no output {string.Join(", ", missingOutputs.Select(m => $"'{m}'"))}.");
        }

        TensorElementType[] floats = [TensorElementType.Float, TensorElementType.Float16, TensorElementType.BFloat16];
        var cacheType = inputs["past_key_values.0.key"].ElementDataType;
        var odd = required.Skip(2).Select(name => (Name: name, Type: inputs[name].ElementDataType))
            .Concat(Enumerable.Range(0, config.Layers).SelectMany(i => new[] { $"present.{i}.key", $"present.{i}.value" }).Select(name => (Name: name, Type: outputs[name].ElementDataType)))
            .FirstOrDefault(t => t.Type != cacheType);
        if (!floats.Contains(cacheType) || odd.Name is not null)
        {
            throw new ModelLayoutException(odd.Name is not null
                ? $"model.onnx in '{folder}' keeps '{odd.Name}' as {odd.Type} but past_key_values.0.key as {cacheType}; a KV cache has one element type."
                : $"model.onnx in '{folder}' keeps its KV cache as {cacheType}; exports in float32, float16 and bfloat16 are supported.");
        }

        if (!floats.Contains(outputs["logits"].ElementDataType))
        {
            throw new ModelLayoutException($"model.onnx in '{folder}' gives its logits as {outputs["logits"].ElementDataType}; float32, float16 or bfloat16 logits are supported.");
        }

        if (inputs.ContainsKey("use_cache_branch"))
        {
            throw new ModelLayoutException($"model.onnx in '{folder}' is a merged export (use_cache_branch); export it without merging (--no-post-process).");
        }
    }

    public void Dispose()
    {
        Session.Dispose();
        Tokenizer.Dispose();
    }
}
