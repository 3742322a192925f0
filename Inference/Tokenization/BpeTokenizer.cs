using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;

namespace CustomerGrains.Inference.Tokenization;

/// <summary>A token the tokenizer file adds outside the BPE vocabulary (&lt;|endoftext|&gt;, &lt;|im_start|&gt;, ...).</summary>
public sealed record AddedToken(int Id, string Content, bool Special);

/// <summary>
/// Byte-level BPE as in Hugging Face <c>tokenizer.json</c> (GPT-2, Llama-3, Qwen2): added tokens are cut out first,
/// the rest is normalised (NFC where the file says so), pre-tokenised by the family's regex, mapped byte by byte to
/// vocabulary characters, and merged by rank. Decoding reverses the byte map, so any UTF-8 text round-trips.
/// Thread-safe.
/// </summary>
public sealed class BpeTokenizer : ITextTokenizer
{
    private const int MaxCachedPieces = 100_000;
    private readonly Dictionary<string, int> _vocab;
    private readonly string[] _tokens;
    private readonly Dictionary<(string, string), int> _ranks;
    private readonly PreTokenizer _preTokenizer;
    private readonly NormalizationForm? _normalization;
    private readonly IReadOnlyList<AddedToken> _added;
    private readonly HashSet<int> _specialIds;
    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);

    public BpeTokenizer(
        Dictionary<string, int> vocab,
        IEnumerable<(string Left, string Right)> merges,
        PreTokenizer preTokenizer,
        IReadOnlyList<AddedToken>? added = null,
        NormalizationForm? normalization = null)
    {
        _vocab = vocab;
        _added = (added ?? []).OrderByDescending(a => a.Content.Length).ToList();
        var size = Math.Max(vocab.Values.DefaultIfEmpty(-1).Max(), _added.Select(a => a.Id).DefaultIfEmpty(-1).Max()) + 1;
        _tokens = new string[size];
        foreach (var (token, id) in vocab)
        {
            _tokens[id] = token;
        }

        foreach (var token in _added)
        {
            _tokens[token.Id] = token.Content;
        }

        _ranks = [];
        var rank = 0;
        foreach (var pair in merges)
        {
            _ranks.TryAdd(pair, rank++);
        }

        _specialIds = _added.Where(a => a.Special).Select(a => a.Id).ToHashSet();
        _preTokenizer = preTokenizer;
        _normalization = normalization;
        foreach (var b in ByteLevel.ByteToChar)
        {
            if (!vocab.ContainsKey(b.ToString()))
            {
                throw new FormatException($"The vocabulary lacks the byte-level character '{b}' (U+{(int)b:X4}); it is not a byte-level BPE vocabulary.");
            }
        }
    }

    public int VocabularySize => _tokens.Length;

    public IReadOnlyList<AddedToken> AddedTokens => _added;

    /// <summary>The id of a token (vocabulary or added), if there is one.</summary>
    public int? IdOf(string token) =>
        _added.FirstOrDefault(a => a.Content == token)?.Id ?? (_vocab.TryGetValue(token, out var id) ? id : null);

    /// <summary>Reads a Hugging Face <c>tokenizer.json</c>; fails with what it does not support.</summary>
    /// <summary>Reads a tokenizer.json that must be byte-level BPE (what generation decodes with); throws
    /// <see cref="FormatException"/> saying why it is not.</summary>
    public static BpeTokenizer Load(string path) =>
        TextTokenizer.Load(path) as BpeTokenizer ?? throw new FormatException($"'{path}' is a WordPiece tokenizer; a decoder needs byte-level BPE.");

    public static BpeTokenizer FromJson(JsonElement root)
    {
        var model = root.GetProperty("model");
        if (model.TryGetProperty("type", out var type) && type.GetString() != "BPE")
        {
            throw new FormatException($"Tokenizer model '{type.GetString()}' is not BPE.");
        }

        var vocab = model.GetProperty("vocab").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32(), StringComparer.Ordinal);
        var merges = model.GetProperty("merges").EnumerateArray().Select(m => m.ValueKind == JsonValueKind.Array
            ? (m[0].GetString()!, m[1].GetString()!)                              // newer files: ["a", "b"]
            : SplitMerge(m.GetString()!)).ToList();                               // older files: "a b"
        return new BpeTokenizer(vocab, merges, ReadPreTokenizer(root), ReadAddedTokens(root), ReadNormalizer(root));
    }

    /// <summary>tokenizer.json's added_tokens (any model type).</summary>
    internal static List<AddedToken> ReadAddedTokens(JsonElement root) =>
        root.TryGetProperty("added_tokens", out var list) && list.ValueKind == JsonValueKind.Array
            ? list.EnumerateArray().Select(t => new AddedToken(t.GetProperty("id").GetInt32(), t.GetProperty("content").GetString()!, t.TryGetProperty("special", out var s) && s.GetBoolean())).ToList()
            : [];

    public int[] Encode(string text)
    {
        var ids = new List<int>(text.Length / 3 + 4);
        foreach (var (segment, addedId) in AddedTokenText.Split(text, _added))
        {
            if (addedId is { } id)
            {
                ids.Add(id);
                continue;
            }

            var normalized = _normalization is { } form ? segment.Normalize(form) : segment;
            foreach (var piece in _preTokenizer.Split(normalized))
            {
                ids.AddRange(EncodePiece(piece));
            }
        }

        return [.. ids];
    }

    public string Decode(ReadOnlySpan<int> ids, bool skipSpecial = false)
    {
        var bytes = new List<byte>(ids.Length * 4);
        var text = new StringBuilder();
        foreach (var id in ids)
        {
            if ((uint)id >= (uint)_tokens.Length || _tokens[id] is null)
            {
                throw new ArgumentOutOfRangeException(nameof(ids), $"Token id {id} is not in the vocabulary of {_tokens.Length}.");
            }

            if (_added.Any(a => a.Id == id))
            {
                Flush();
                if (!skipSpecial || !_specialIds.Contains(id))
                {
                    text.Append(_tokens[id]);
                }

                continue;
            }

            foreach (var c in _tokens[id])
            {
                bytes.Add(ByteLevel.TryGetByte(c, out var b) ? b : throw new FormatException($"Token {id} holds '{c}', which is not a byte-level character."));
            }
        }

        Flush();
        return text.ToString();

        void Flush()
        {
            text.Append(Encoding.UTF8.GetString(bytes.ToArray()));
            bytes.Clear();
        }
    }

    private int[] EncodePiece(string piece)
    {
        if (_cache.TryGetValue(piece, out var cached))
        {
            return cached;
        }

        var utf8 = Encoding.UTF8.GetBytes(piece);
        var parts = new List<string>(utf8.Length);
        foreach (var b in utf8)
        {
            parts.Add(ByteLevel.ByteToChar[b].ToString());
        }

        // Merge the adjacent pair of lowest rank until no pair has one.
        while (parts.Count > 1)
        {
            var best = -1;
            var bestRank = int.MaxValue;
            for (var i = 0; i < parts.Count - 1; i++)
            {
                if (_ranks.TryGetValue((parts[i], parts[i + 1]), out var rank) && rank < bestRank)
                {
                    (best, bestRank) = (i, rank);
                }
            }

            if (best < 0)
            {
                break;
            }

            parts[best] += parts[best + 1];
            parts.RemoveAt(best + 1);
        }

        var ids = parts.Select(p => _vocab.TryGetValue(p, out var id) ? id : throw new FormatException($"Merged piece '{p}' is not in the vocabulary.")).ToArray();
        if (_cache.Count < MaxCachedPieces)
        {
            _cache.TryAdd(piece, ids);
        }

        return ids;
    }

    private static (string, string) SplitMerge(string merge)
    {
        var space = merge.IndexOf(' ', 1);
        return space > 0 ? (merge[..space], merge[(space + 1)..]) : throw new FormatException($"Merge '{merge}' is not 'left right'.");
    }

    private static NormalizationForm? ReadNormalizer(JsonElement root)
    {
        if (!root.TryGetProperty("normalizer", out var normalizer) || normalizer.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return normalizer.GetProperty("type").GetString() switch
        {
            "NFC" => NormalizationForm.FormC,
            "NFKC" => NormalizationForm.FormKC,
            "NFD" => NormalizationForm.FormD,
            "Sequence" when normalizer.GetProperty("normalizers").GetArrayLength() == 0 => null,
            var other => throw new FormatException($"Normalizer '{other}' is not supported (NFC, NFKC, NFD or none)."),
        };
    }

    /// <summary>GPT-2 files: <c>ByteLevel{use_regex: true}</c>. Llama-3 and Qwen2 files: a <c>Sequence</c> of
    /// <c>Split{Regex, Isolated}</c> then <c>ByteLevel{use_regex: false}</c>.</summary>
    private static PreTokenizer ReadPreTokenizer(JsonElement root)
    {
        if (!root.TryGetProperty("pre_tokenizer", out var pre) || pre.ValueKind == JsonValueKind.Null)
        {
            throw new FormatException("The tokenizer has no pre_tokenizer; byte-level BPE needs one.");
        }

        var steps = pre.GetProperty("type").GetString() == "Sequence" ? pre.GetProperty("pretokenizers").EnumerateArray().ToList() : [pre];
        string? pattern = null;
        var prefixSpace = false;
        foreach (var step in steps)
        {
            switch (step.GetProperty("type").GetString())
            {
                case "Split":
                    var behavior = step.TryGetProperty("behavior", out var b) ? b.GetString() : "Isolated";
                    if (behavior != "Isolated" || (step.TryGetProperty("invert", out var invert) && invert.GetBoolean()))
                    {
                        throw new FormatException($"Split pre-tokenizer behaviour '{behavior}' is not supported (Isolated).");
                    }

                    pattern = step.GetProperty("pattern").GetProperty("Regex").GetString();
                    break;
                case "ByteLevel":
                    prefixSpace = step.TryGetProperty("add_prefix_space", out var add) && add.GetBoolean();
                    if (!step.TryGetProperty("use_regex", out var useRegex) || useRegex.GetBoolean())
                    {
                        pattern ??= PreTokenizer.Gpt2Pattern;
                    }

                    break;
                case var other:
                    throw new FormatException($"Pre-tokenizer '{other}' is not supported (ByteLevel, Split).");
            }
        }

        return new PreTokenizer(pattern ?? throw new FormatException("No pre-tokenizer regex found."), prefixSpace);
    }
}
