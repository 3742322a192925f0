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

    /// <summary>What an onnxruntime-genai builder output's genai_config.json says: the decoder's shape, end-of-sequence
    /// ids (with generation_config.json's, where there is one), context length, model file and input/output names.</summary>
    public static (DecoderConfig Config, DecoderNames Names, string FileName) ReadGenAi(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        var model = document.RootElement.TryGetProperty("model", out var m) ? m : throw new ModelLayoutException($"{path} has no 'model'.");
        var decoder = model.TryGetProperty("decoder", out var dec) ? dec : throw new ModelLayoutException($"{path} has no 'model.decoder'.");
        int Int(JsonElement element, string prefix, string name) =>
            element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetInt32() : throw new ModelLayoutException($"{path} has no '{prefix}.{name}'.");
        string Name(string section, string name, string fallback) =>
            decoder.TryGetProperty(section, out var names) && names.TryGetProperty(name, out var value) && value.GetString() is { Length: > 0 } given ? given : fallback;

        var heads = Int(decoder, "model.decoder", "num_attention_heads");
        var kvHeads = decoder.TryGetProperty("num_key_value_heads", out var kv) ? kv.GetInt32() : heads;
        var eos = EosIds(model);
        var generation = Path.Combine(Path.GetDirectoryName(path) ?? ".", "generation_config.json");
        if (File.Exists(generation))
        {
            using var generationDocument = JsonDocument.Parse(File.ReadAllBytes(generation));
            eos.UnionWith(EosIds(generationDocument.RootElement));
        }

        var config = new DecoderConfig(Int(model, "model", "vocab_size"), heads, kvHeads, Int(decoder, "model.decoder", "head_size"),
            Int(decoder, "model.decoder", "num_hidden_layers"), Int(model, "model", "context_length"), eos);
        var optimum = DecoderNames.Optimum;
        var names = new DecoderNames(
            Name("inputs", "input_ids", optimum.InputIds),
            Name("inputs", "attention_mask", optimum.AttentionMask),
            Name("inputs", "position_ids", optimum.PositionIds),
            Name("outputs", "logits", optimum.Logits),
            Name("inputs", "past_key_names", optimum.PastKey),
            Name("inputs", "past_value_names", optimum.PastValue),
            Name("outputs", "present_key_names", optimum.PresentKey),
            Name("outputs", "present_value_names", optimum.PresentValue));
        var file = decoder.TryGetProperty("filename", out var f) && f.GetString() is { Length: > 0 } given ? given : "model.onnx";
        return (config, names, file);
    }

    private static HashSet<int> EosIds(JsonElement root) =>
        root.TryGetProperty("eos_token_id", out var e)
            ? e.ValueKind == JsonValueKind.Array ? e.EnumerateArray().Select(x => x.GetInt32()).ToHashSet() : e.ValueKind == JsonValueKind.Number ? [e.GetInt32()] : []
            : [];
}

/// <summary>The names of a decoder's inputs and outputs: optimum's, or those a genai_config.json gives. Per-layer
/// names are patterns with %d for the layer.</summary>
public sealed record DecoderNames(string InputIds, string AttentionMask, string PositionIds, string Logits, string PastKey, string PastValue, string PresentKey, string PresentValue)
{
    public static readonly DecoderNames Optimum = new("input_ids", "attention_mask", "position_ids", "logits",
        "past_key_values.%d.key", "past_key_values.%d.value", "present.%d.key", "present.%d.value");

    /// <summary>A per-layer pattern's name for <paramref name="layer"/>, e.g. present.3.key.</summary>
    public static string Of(string pattern, int layer) => pattern.Replace("%d", layer.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

    /// <summary>Key and value names of each layer in turn: key 0, value 0, key 1, ...</summary>
    internal string[] Layers(string keyPattern, string valuePattern, int layers) =>
        [.. Enumerable.Range(0, layers).SelectMany(i => new[] { Of(keyPattern, i), Of(valuePattern, i) })];
}

/// <summary>How a batch lays out its rows in the KV cache.</summary>
public enum CacheLayout
{
    /// <summary>Each row's positions end at the cache's end, padding before them masked by attention_mask, true
    /// positions given by position_ids (optimum exports, whose graphs concatenate past and new keys).</summary>
    LeftPadded,

    /// <summary>Each row's positions start at index 0 of a slot with room for the steps ahead, which the model writes
    /// in place (the KV cache's present is its past, the same memory): GroupQueryAttention, which derives each row's
    /// length from attention_mask and its positions from that length (onnxruntime-genai builder outputs, without
    /// position_ids).</summary>
    Slots,
}

/// <summary>
/// A decoder-only language model in either layout a team will have: Hugging Face optimum's (a folder with config.json,
/// tokenizer.json and model.onnx exported with past key values) or onnxruntime-genai's model builder's (genai_config.json,
/// tokenizer.json and the model file it names; GroupQueryAttention, often int4 MatMulNBits). Loading checks the layout,
/// so a wrong model fails here, naming what is missing, not at the first request.
/// </summary>
public sealed class DecoderModel : IDisposable
{
    private DecoderModel(string folder, DecoderConfig config, DecoderNames names, TextTokenizer tokenizer, ModelSession session, Chat.ChatTemplate? template, bool genAi)
    {
        Folder = folder;
        Template = template;
        Config = config;
        Names = names;
        Tokenizer = tokenizer;
        Session = session;
        HasPositionIds = session.Inputs.ContainsKey(names.PositionIds);
        PastNames = names.Layers(names.PastKey, names.PastValue, config.Layers);
        PresentNames = names.Layers(names.PresentKey, names.PresentValue, config.Layers);
        OutputNames = [names.Logits, .. PresentNames];
        KvType = session.Inputs[PastNames[0]].ElementDataType;
        Layout = genAi && !HasPositionIds ? CacheLayout.Slots : CacheLayout.LeftPadded;
    }

    public string Folder { get; }

    public DecoderConfig Config { get; }

    public DecoderNames Names { get; }

    /// <summary>How a batch keeps this model's rows in its cache (<see cref="DecodeBatch"/>).</summary>
    public CacheLayout Layout { get; }

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

    /// <summary>The logits, then the presents.</summary>
    internal string[] OutputNames { get; }

    /// <summary>Past keys and values (past_key_values.{layer}.key and .value), layer by layer.</summary>
    internal string[] PastNames { get; }

    /// <summary>Present keys and values (present.{layer}.key and .value), layer by layer.</summary>
    internal string[] PresentNames { get; }

    /// <summary>
    /// The model file of a model folder, after checking the folder has what its layout needs: optimum's config.json,
    /// tokenizer.json and model.onnx, or (without config.json) genai_config.json, tokenizer.json and the file it names.
    /// </summary>
    public static string ModelFile(string folder)
    {
        var genAi = GenAiConfig(folder);
        var file = genAi is null ? "model.onnx" : DecoderConfig.ReadGenAi(genAi).FileName;
        foreach (var needed in new[] { genAi is null ? "config.json" : "genai_config.json", "tokenizer.json", file })
        {
            if (!File.Exists(Path.Combine(folder, needed)))
            {
                throw new ModelLayoutException($"Model folder '{folder}' has no {needed}; a model exported with Hugging Face optimum has config.json, tokenizer.json and model.onnx, " +
                    "one made by onnxruntime-genai's model builder has genai_config.json, tokenizer.json and the model file genai_config.json names.");
            }
        }

        return Path.Combine(folder, file);
    }

    /// <summary>Whether the folder is an onnxruntime-genai builder output: genai_config.json and no config.json.</summary>
    public static bool IsGenAi(string folder) => GenAiConfig(folder) is not null;

    /// <summary>genai_config.json's path where the folder is an onnxruntime-genai builder output (it has no config.json).</summary>
    private static string? GenAiConfig(string folder) =>
        !File.Exists(Path.Combine(folder, "config.json")) && File.Exists(Path.Combine(folder, "genai_config.json")) ? Path.Combine(folder, "genai_config.json") : null;

    public static DecoderModel Load(string folder, SessionSettings settings) => Load(folder, ModelSession.Open(ModelFile(folder), settings));

    /// <summary>Loads around an open session of the folder's model file, which it then owns (disposed on failure).</summary>
    internal static DecoderModel Load(string folder, ModelSession session)
    {
        try
        {
            var genAi = GenAiConfig(folder);
            DecoderConfig config;
            DecoderNames names;
            if (genAi is null)
            {
                (config, names) = (DecoderConfig.Read(Path.Combine(folder, "config.json")), DecoderNames.Optimum);
            }
            else
            {
                (config, names, _) = DecoderConfig.ReadGenAi(genAi);
            }

            CheckLayout(session, config, names, folder, genAi is not null);
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

            return new DecoderModel(folder, config, names, tokenizer, session, template, genAi is not null);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    private static void CheckLayout(ModelSession session, DecoderConfig config, DecoderNames names, string folder, bool genAi)
    {
        var inputs = session.Inputs;
        var outputs = session.Outputs;
        var pasts = names.Layers(names.PastKey, names.PastValue, config.Layers);
        var presents = names.Layers(names.PresentKey, names.PresentValue, config.Layers);
        var required = new List<string> { names.InputIds, names.AttentionMask };
        required.AddRange(pasts);
        var model = genAi ? "The model" : "model.onnx";
        var missing = required.Where(name => !inputs.ContainsKey(name)).ToList();
        if (missing.Count > 0)
        {
            throw new ModelLayoutException(
                $"{model} in '{folder}' has no input {string.Join(", ", missing.Select(m => $"'{m}'"))}; its inputs are {string.Join(", ", inputs.Keys)}. " +
                (genAi ? "genai_config.json's model.decoder.inputs must name the model's inputs." : "Export the model with its KV cache (optimum-cli export onnx --task text-generation-with-past)."));
        }

        var missingOutputs = presents.Prepend(names.Logits).Where(name => !outputs.ContainsKey(name)).ToList();
        if (missingOutputs.Count > 0)
        {
            throw new ModelLayoutException($"{model} in '{folder}' has no output {string.Join(", ", missingOutputs.Select(m => $"'{m}'"))}.");
        }

        TensorElementType[] floats = [TensorElementType.Float, TensorElementType.Float16, TensorElementType.BFloat16];
        var cacheType = inputs[pasts[0]].ElementDataType;
        var odd = pasts.Select(name => (Name: name, Type: inputs[name].ElementDataType))
            .Concat(presents.Select(name => (Name: name, Type: outputs[name].ElementDataType)))
            .FirstOrDefault(t => t.Type != cacheType);
        if (!floats.Contains(cacheType) || odd.Name is not null)
        {
            throw new ModelLayoutException(odd.Name is not null
                ? $"{model} in '{folder}' keeps '{odd.Name}' as {odd.Type} but {pasts[0]} as {cacheType}; a KV cache has one element type."
                : $"{model} in '{folder}' keeps its KV cache as {cacheType}; exports in float32, float16 and bfloat16 are supported.");
        }

        if (!floats.Contains(outputs[names.Logits].ElementDataType))
        {
            throw new ModelLayoutException($"{model} in '{folder}' gives its logits as {outputs[names.Logits].ElementDataType}; float32, float16 or bfloat16 logits are supported.");
        }

        if (inputs.ContainsKey("use_cache_branch"))
        {
            throw new ModelLayoutException($"{model} in '{folder}' is a merged export (use_cache_branch); export it without merging (--no-post-process).");
        }
    }

    public void Dispose()
    {
        Session.Dispose();
        Tokenizer.Dispose();
    }
}
