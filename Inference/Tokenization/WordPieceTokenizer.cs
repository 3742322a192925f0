using System.Globalization;
using System.Text;
using System.Text.Json;

namespace CustomerGrains.Inference.Tokenization;

/// <summary>
/// WordPiece as in Hugging Face <c>tokenizer.json</c> for BERT-family encoders (all-MiniLM, LaBSE, rubert-tiny):
/// added tokens are cut out first; the BERT normaliser cleans control characters, spaces CJK characters, strips
/// accents and lowercases (as the file says); words are split at whitespace and every punctuation character; each word
/// becomes the longest vocabulary pieces from its start, later ones with the continuation prefix (##), or the unknown
/// token when it cannot be covered or is too long. Thread-safe.
/// </summary>
public sealed class WordPieceTokenizer : ITextTokenizer
{
    private readonly Dictionary<string, int> _vocab;
    private readonly IReadOnlyList<AddedToken> _added;
    private readonly int _unknown;
    private readonly string _prefix;
    private readonly int _maxWordChars;
    private readonly BertNormalizer? _normalizer;

    private WordPieceTokenizer(Dictionary<string, int> vocab, IReadOnlyList<AddedToken> added, int unknown, string prefix, int maxWordChars, BertNormalizer? normalizer)
    {
        (_vocab, _unknown, _prefix, _maxWordChars, _normalizer) = (vocab, unknown, prefix, maxWordChars, normalizer);
        _added = added.OrderByDescending(a => a.Content.Length).ToList();
    }

    /// <summary>Reads a tokenizer.json whose model is WordPiece; throws <see cref="FormatException"/> saying what it
    /// cannot follow.</summary>
    public static WordPieceTokenizer FromJson(JsonElement root)
    {
        var model = root.GetProperty("model");
        var vocab = model.GetProperty("vocab").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32(), StringComparer.Ordinal);
        var unknownToken = model.TryGetProperty("unk_token", out var unk) ? unk.GetString()! : "[UNK]";
        if (!vocab.TryGetValue(unknownToken, out var unknown))
        {
            throw new FormatException($"The WordPiece unknown token '{unknownToken}' is not in the vocabulary.");
        }

        var prefix = model.TryGetProperty("continuing_subword_prefix", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString()! : "##";
        var maxWordChars = model.TryGetProperty("max_input_chars_per_word", out var m) && m.ValueKind == JsonValueKind.Number ? m.GetInt32() : 100;
        RequirePreTokenizer(root);
        return new WordPieceTokenizer(vocab, BpeTokenizer.ReadAddedTokens(root), unknown, prefix, maxWordChars, ReadNormalizer(root));
    }

    public int[] Encode(string text)
    {
        var ids = new List<int>(text.Length / 4 + 4);
        foreach (var (segment, addedId) in AddedTokenText.Split(text, _added))
        {
            if (addedId is { } id)
            {
                ids.Add(id);
                continue;
            }

            var normalized = _normalizer?.Normalize(segment) ?? segment;
            foreach (var word in Words(normalized))
            {
                EncodeWord(word, ids);
            }
        }

        return [.. ids];
    }

    /// <summary>BertPreTokenizer: split at whitespace, and every punctuation character is a word of its own.</summary>
    private static IEnumerable<string> Words(string text)
    {
        var start = -1;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsWhiteSpace(c) || IsPunctuation(c))
            {
                if (start >= 0)
                {
                    yield return text[start..i];
                    start = -1;
                }

                if (!char.IsWhiteSpace(c))
                {
                    yield return c.ToString();
                }
            }
            else if (start < 0)
            {
                start = i;
            }
        }

        if (start >= 0)
        {
            yield return text[start..];
        }
    }

    private void EncodeWord(string word, List<int> ids)
    {
        var chars = StringInfo.ParseCombiningCharacters(word).Length;
        if (chars > _maxWordChars)
        {
            ids.Add(_unknown);
            return;
        }

        var first = ids.Count;
        for (var start = 0; start < word.Length;)
        {
            var found = false;
            for (var end = word.Length; end > start; end--)
            {
                if (end < word.Length && char.IsLowSurrogate(word[end]))
                {
                    continue; // never split a surrogate pair
                }

                var piece = start == 0 ? word[start..end] : _prefix + word[start..end];
                if (_vocab.TryGetValue(piece, out var id))
                {
                    ids.Add(id);
                    start = end;
                    found = true;
                    break;
                }
            }

            if (!found)
            {
                // A word that cannot be covered is one unknown token, not a partial one.
                ids.RemoveRange(first, ids.Count - first);
                ids.Add(_unknown);
                return;
            }
        }
    }

    /// <summary>BERT's punctuation: ASCII symbols as well as Unicode punctuation.</summary>
    private static bool IsPunctuation(char c) =>
        c is >= '!' and <= '/' or >= ':' and <= '@' or >= '[' and <= '`' or >= '{' and <= '~' || char.IsPunctuation(c);

    private static void RequirePreTokenizer(JsonElement root)
    {
        if (!root.TryGetProperty("pre_tokenizer", out var pre) || pre.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        var type = pre.GetProperty("type").GetString();
        if (type != "BertPreTokenizer")
        {
            throw new FormatException($"A WordPiece pre-tokenizer '{type}' is not supported; BertPreTokenizer is.");
        }
    }

    private static BertNormalizer? ReadNormalizer(JsonElement root)
    {
        if (!root.TryGetProperty("normalizer", out var normalizer) || normalizer.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var type = normalizer.GetProperty("type").GetString();
        if (type != "BertNormalizer")
        {
            throw new FormatException($"A WordPiece normalizer '{type}' is not supported; BertNormalizer is.");
        }

        bool Flag(string name, bool fallback) => normalizer.TryGetProperty(name, out var value) && value.ValueKind is JsonValueKind.True or JsonValueKind.False ? value.GetBoolean() : fallback;
        var lowercase = Flag("lowercase", true);
        return new BertNormalizer(Flag("clean_text", true), Flag("handle_chinese_chars", true), Flag("strip_accents", lowercase), lowercase);
    }

    /// <summary>BERT's normaliser; strip_accents left null in the file follows lowercase, as in BERT itself.</summary>
    private sealed record BertNormalizer(bool CleanText, bool SpaceChinese, bool StripAccents, bool Lowercase)
    {
        public string Normalize(string text)
        {
            var result = new StringBuilder(text.Length);
            foreach (var rune in text.EnumerateRunes())
            {
                if (CleanText && (rune.Value is 0 or 0xFFFD || IsControl(rune)))
                {
                    continue;
                }

                if (CleanText && Rune.IsWhiteSpace(rune))
                {
                    result.Append(' ');
                }
                else if (SpaceChinese && IsChinese(rune.Value))
                {
                    result.Append(' ').Append(rune.ToString()).Append(' ');
                }
                else
                {
                    result.Append(rune.ToString());
                }
            }

            var normalized = result.ToString();
            if (StripAccents)
            {
                var decomposed = normalized.Normalize(NormalizationForm.FormD);
                var stripped = new StringBuilder(decomposed.Length);
                foreach (var c in decomposed)
                {
                    if (CharUnicodeInfo.GetUnicodeCategory(c) != UnicodeCategory.NonSpacingMark)
                    {
                        stripped.Append(c);
                    }
                }

                normalized = stripped.ToString();
            }

            return Lowercase ? normalized.ToLowerInvariant() : normalized;
        }

        /// <summary>Control characters other than tab and line breaks (which count as whitespace).</summary>
        private static bool IsControl(Rune rune) =>
            rune.Value is not ('\t' or '\n' or '\r') && Rune.GetUnicodeCategory(rune) is UnicodeCategory.Control or UnicodeCategory.Format;

        /// <summary>The CJK Unified Ideographs blocks BERT spaces out (not Hangul, Hiragana or Katakana).</summary>
        private static bool IsChinese(int cp) =>
            cp is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0x20000 and <= 0x2A6DF or >= 0x2A700 and <= 0x2B73F
                or >= 0x2B740 and <= 0x2B81F or >= 0x2B820 and <= 0x2CEAF or >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;
    }
}
