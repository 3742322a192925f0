using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace CustomerGrains.ModelMaker;

/// <summary>The pre-tokenizer families a tokenizer.json can be written for.</summary>
public enum TokenizerFamily
{
    Gpt2,
    Llama3,
    Qwen2,
}

/// <summary>
/// Trains a small byte-level BPE on a corpus and writes it as a Hugging Face <c>tokenizer.json</c> in the layout of a
/// model family: GPT-2 (<c>ByteLevel</c> pre-tokenizer, merges as "a b" strings), Llama-3 (<c>Split</c> regex then
/// <c>ByteLevel</c>, merges as pairs) or Qwen2 (as Llama-3, one digit per piece, NFC normalizer).
/// </summary>
public static class TokenizerJson
{
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";
    public const string Llama3Pattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    public const string Qwen2Pattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>Special tokens every written file carries, after the byte-level vocabulary and merges.</summary>
    public static readonly string[] SpecialTokens = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];

    /// <summary>A corpus of support conversations in English, German, Russian and Ukrainian, for the test tokenizer.</summary>
    public const string SupportCorpus =
        """
        Hello, I ordered a parcel last week and it has not arrived yet. Where is my order? Could you check the tracking number please.
        Thank you for contacting support. Your order has been shipped and will arrive tomorrow. We're sorry for the delay.
        I'd like to return the shoes, they don't fit. How do I get a refund for my order? The invoice number is 12345.
        Guten Tag, meine Bestellung ist noch nicht angekommen. Können Sie bitte die Lieferung prüfen? Vielen Dank.
        Здравствуйте, мой заказ ещё не пришёл. Где моя посылка? Пожалуйста, проверьте номер отслеживания. Спасибо.
        Добрий день, моє замовлення досі не надійшло. Де моя посилка? Будь ласка, перевірте. Дякую за допомогу.
        Your account password was reset. If you didn't request this, please contact support immediately.
        """;

    public static string Create(TokenizerFamily family, string corpus, int merges)
    {
        var byteToChar = ByteToChar();
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var c in byteToChar)
        {
            vocab[c.ToString()] = vocab.Count;
        }

        var pattern = new Regex(family switch { TokenizerFamily.Gpt2 => Gpt2Pattern, TokenizerFamily.Llama3 => Llama3Pattern, _ => Qwen2Pattern });
        var text = family == TokenizerFamily.Qwen2 ? corpus.Normalize(NormalizationForm.FormC) : corpus;
        var words = pattern.Matches(text)
            .GroupBy(m => m.Value)
            .Select(g => (Parts: Encoding.UTF8.GetBytes(g.Key).Select(b => byteToChar[b].ToString()).ToList(), Count: g.Count()))
            .ToList();

        // Classic BPE training: merge the most frequent adjacent pair, again and again.
        var learned = new List<(string, string)>();
        while (learned.Count < merges)
        {
            var pairs = new Dictionary<(string, string), int>();
            foreach (var (parts, count) in words)
            {
                for (var i = 0; i < parts.Count - 1; i++)
                {
                    var pair = (parts[i], parts[i + 1]);
                    pairs[pair] = pairs.GetValueOrDefault(pair) + count;
                }
            }

            if (pairs.Count == 0)
            {
                break;
            }

            var best = pairs.OrderByDescending(p => p.Value).ThenBy(p => p.Key.Item1 + "\u0001" + p.Key.Item2, StringComparer.Ordinal).First().Key;
            learned.Add(best);
            vocab.TryAdd(best.Item1 + best.Item2, vocab.Count);
            foreach (var (parts, _) in words)
            {
                for (var i = 0; i < parts.Count - 1; i++)
                {
                    if (parts[i] == best.Item1 && parts[i + 1] == best.Item2)
                    {
                        parts[i] += parts[i + 1];
                        parts.RemoveAt(i + 1);
                    }
                }
            }
        }

        var added = SpecialTokens.Select((t, i) => new { id = vocab.Count + i, content = t, single_word = false, lstrip = false, rstrip = false, normalized = false, special = true }).ToArray();
        object preTokenizer = family == TokenizerFamily.Gpt2
            ? new { type = "ByteLevel", add_prefix_space = false, trim_offsets = true, use_regex = true }
            : new
            {
                type = "Sequence",
                pretokenizers = new object[]
                {
                    new { type = "Split", pattern = new { Regex = family == TokenizerFamily.Llama3 ? Llama3Pattern : Qwen2Pattern }, behavior = "Isolated", invert = false },
                    new { type = "ByteLevel", add_prefix_space = false, trim_offsets = false, use_regex = false },
                },
            };
        var document = new
        {
            version = "1.0",
            added_tokens = added,
            normalizer = family == TokenizerFamily.Qwen2 ? new { type = "NFC" } : null,
            pre_tokenizer = preTokenizer,
            decoder = new { type = "ByteLevel", add_prefix_space = true, trim_offsets = true, use_regex = true },
            model = new
            {
                type = "BPE",
                vocab,
                merges = family == TokenizerFamily.Gpt2
                    ? learned.Select(m => (object)$"{m.Item1} {m.Item2}").ToArray()
                    : learned.Select(m => (object)new[] { m.Item1, m.Item2 }).ToArray(),
            },
        };
        return JsonSerializer.Serialize(document, new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    /// <summary>Special tokens of an XLM-R-style Unigram file, ids 0 to 3 as in xlm-roberta and multilingual-e5.</summary>
    public static readonly string[] UnigramSpecialTokens = ["<s>", "<pad>", "</s>", "<unk>"];

    /// <summary>
    /// A SentencePiece Unigram <c>tokenizer.json</c> in the layout of XLM-R and multilingual-e5: Metaspace pre-tokenizer
    /// and decoder ("▁" before every word), &lt;s&gt; … &lt;/s&gt; around a text, and byte fallback (&lt;0x00&gt; …
    /// &lt;0xFF&gt;) for characters the vocabulary lacks. The vocabulary holds every word of <paramref name="corpus"/> as a
    /// piece (scored by frequency) and every character of it, so corpus words are one token each and any other word of
    /// known characters is spelled in characters. XLM-R's Precompiled normalizer (a compiled SentencePiece charsmap) is
    /// replaced by NFKC, which it mostly performs.
    /// </summary>
    public static string CreateUnigram(string corpus)
    {
        var text = corpus.Normalize(NormalizationForm.FormKC);
        var words = text.Split((char[])[' ', '\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries)
            .GroupBy(w => "\u2581" + w, StringComparer.Ordinal)
            .Select(g => (Piece: g.Key, Score: -2.0 - 1.0 / g.Count()));
        var characters = text.Where(c => !char.IsWhiteSpace(c) && !char.IsSurrogate(c)).Distinct().Select(c => c.ToString()).Prepend("\u2581")
            .Select(c => (Piece: c, Score: -8.0));
        var bytes = Enumerable.Range(0, 256).Select(b => (Piece: $"<0x{b:X2}>", Score: 0.0));
        var vocab = UnigramSpecialTokens.Select(t => (Piece: t, Score: 0.0))
            .Concat(bytes)
            .Concat(words.Concat(characters).DistinctBy(p => p.Piece, StringComparer.Ordinal))
            .Select(p => new object[] { p.Piece, p.Score })
            .ToArray();
        var metaspace = new { type = "Metaspace", replacement = "\u2581", prepend_scheme = "always", split = true };
        var document = new
        {
            version = "1.0",
            added_tokens = UnigramSpecialTokens.Select((t, i) => new { id = i, content = t, single_word = false, lstrip = false, rstrip = false, normalized = false, special = true }),
            normalizer = new { type = "NFKC" },
            pre_tokenizer = metaspace,
            post_processor = new
            {
                type = "TemplateProcessing",
                single = new object[] { new { SpecialToken = new { id = "<s>", type_id = 0 } }, new { Sequence = new { id = "A", type_id = 0 } }, new { SpecialToken = new { id = "</s>", type_id = 0 } } },
                pair = new object[] { new { SpecialToken = new { id = "<s>", type_id = 0 } }, new { Sequence = new { id = "A", type_id = 0 } }, new { SpecialToken = new { id = "</s>", type_id = 0 } }, new { Sequence = new { id = "B", type_id = 0 } }, new { SpecialToken = new { id = "</s>", type_id = 0 } } },
                special_tokens = new Dictionary<string, object>
                {
                    ["<s>"] = new { id = "<s>", ids = new[] { 0 }, tokens = new[] { "<s>" } },
                    ["</s>"] = new { id = "</s>", ids = new[] { 2 }, tokens = new[] { "</s>" } },
                },
            },
            decoder = new { type = "Sequence", decoders = new object[] { new { type = "ByteFallback" }, metaspace } },
            model = new { type = "Unigram", unk_id = 3, vocab, byte_fallback = true },
        };
        return JsonSerializer.Serialize(document, new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    /// <summary>GPT-2's byte-to-character map (printable bytes as themselves, the rest from U+0100 on). Written here
    /// again, apart from the tokenizer's own, so that fixtures are made from the spec, not from the code they test.</summary>
    public static char[] ByteToChar()
    {
        var map = new char[256];
        var next = 0;
        for (var b = 0; b < 256; b++)
        {
            map[b] = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF ? (char)b : (char)(256 + next++);
        }

        return map;
    }
}
