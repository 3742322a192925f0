using System.Runtime.InteropServices;
using System.Text.Json;
using Tokenizers.DotNet;

namespace CustomerGrains.Inference.Tokenization;

/// <summary>
/// A Hugging Face <c>tokenizer.json</c>, run by Hugging Face's own tokenizers library (through Tokenizers.DotNet), so any
/// file a model ships loads and tokenizes exactly as it does in Python: byte-level BPE (GPT-2, Llama 3, Qwen2), WordPiece
/// (BERT, MiniLM), Unigram with byte fallback (XLM-R, multilingual-e5), with their normalizers, pre-tokenizers and
/// post-processors. Safe to use from several threads.
/// </summary>
public sealed class TextTokenizer : IDisposable
{
    private readonly Tokenizer _tokenizer;

    private TextTokenizer(Tokenizer tokenizer, int vocabularySize, IReadOnlyDictionary<string, int> specialTokens)
    {
        _tokenizer = tokenizer;
        VocabularySize = vocabularySize;
        SpecialTokens = specialTokens;
    }

    /// <summary>Ids the tokenizer can produce: the model's vocabulary and its added tokens.</summary>
    public int VocabularySize { get; }

    /// <summary>The special tokens (<c>added_tokens</c> marked special: <c>&lt;|im_end|&gt;</c>, <c>&lt;|eot_id|&gt;</c>,
    /// <c>&lt;end_of_turn&gt;</c>) by their text. Decoding leaves them out, so a stop at one is a stop at its id.</summary>
    public IReadOnlyDictionary<string, int> SpecialTokens { get; }

    /// <summary>Loads <paramref name="path"/>; a <see cref="FormatException"/> says why it cannot be.</summary>
    public static TextTokenizer Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new FormatException($"Tokenizer file '{path}' does not exist.");
        }

        int vocabularySize;
        Dictionary<string, int> special;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            vocabularySize = VocabularySizeOf(document.RootElement);
            special = document.RootElement.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array
                ? added.EnumerateArray()
                    .Where(token => token.TryGetProperty("special", out var isSpecial) && isSpecial.ValueKind == JsonValueKind.True)
                    .GroupBy(token => token.GetProperty("content").GetString()!, StringComparer.Ordinal)
                    .ToDictionary(group => group.Key, group => group.First().GetProperty("id").GetInt32(), StringComparer.Ordinal)
                : [];
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new FormatException($"'{path}' is not a Hugging Face tokenizer.json: {ex.Message}", ex);
        }

        try
        {
            return new TextTokenizer(new Tokenizer(path), vocabularySize, special);
        }
        catch (TokenizerException ex)
        {
            throw new FormatException($"'{path}' is not a tokenizer.json Hugging Face tokenizers can load: {ex.Message}", ex);
        }
    }

    /// <summary>The ids of <paramref name="text"/>, with the special tokens the post-processor adds (BERT's [CLS] and
    /// [SEP], Llama 3's &lt;|begin_of_text|&gt;), as <c>tokenizer.encode(text)</c> gives them in Python.</summary>
    public int[] Encode(string text)
    {
        var ids = _tokenizer.Encode(text);
        return MemoryMarshal.Cast<uint, int>(ids).ToArray();
    }

    /// <summary>The text of <paramref name="ids"/>, special tokens left out. A character whose bytes are not all there
    /// yet (a stream cut mid-character) decodes as U+FFFD.</summary>
    public string Decode(ReadOnlySpan<int> ids) =>
        ids.IsEmpty ? "" : _tokenizer.Decode(MemoryMarshal.Cast<int, uint>(ids).ToArray());

    private static int VocabularySizeOf(JsonElement root)
    {
        var model = root.GetProperty("model");
        var vocabulary = model.GetProperty("vocab");
        var largest = vocabulary.ValueKind == JsonValueKind.Array
            ? vocabulary.GetArrayLength() - 1 // Unigram: [piece, score] pairs, the id is the index
            : vocabulary.EnumerateObject().Select(entry => entry.Value.GetInt32()).DefaultIfEmpty(-1).Max();
        if (root.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array)
        {
            largest = added.EnumerateArray().Select(token => token.GetProperty("id").GetInt32()).Append(largest).Max();
        }

        return largest + 1;
    }

    public void Dispose() => _tokenizer.Dispose();
}
