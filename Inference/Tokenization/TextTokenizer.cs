using System.Text.Json;

namespace CustomerGrains.Inference.Tokenization;

/// <summary>Turns text into a model's token ids: what an encoder needs of its tokenizer.</summary>
public interface ITextTokenizer
{
    int[] Encode(string text);
}

/// <summary>Opens a Hugging Face <c>tokenizer.json</c> by its model type.</summary>
public static class TextTokenizer
{
    /// <summary>Byte-level BPE or WordPiece; anything else (Unigram, as XLM-R-family encoders have) is refused with a
    /// <see cref="FormatException"/> that says so.</summary>
    public static ITextTokenizer Load(string path)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = document.RootElement;
            var type = root.GetProperty("model").TryGetProperty("type", out var t) ? t.GetString() : "BPE";
            return type switch
            {
                "BPE" => BpeTokenizer.FromJson(root),
                "WordPiece" => WordPieceTokenizer.FromJson(root),
                _ => throw new FormatException($"Tokenizer model '{type}' is not supported: byte-level BPE and WordPiece are."),
            };
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new FormatException($"'{path}' is not a tokenizer.json this tokenizer reads: {ex.Message}", ex);
        }
    }
}

/// <summary>Cutting text at a tokenizer's added tokens.</summary>
internal static class AddedTokenText
{
    /// <summary>The text cut at added tokens (<paramref name="added"/> longest first), each cut either text or an
    /// added token's id.</summary>
    public static IEnumerable<(string Text, int? AddedId)> Split(string text, IReadOnlyList<AddedToken> added)
    {
        var at = 0;
        while (at < text.Length)
        {
            var (index, token) = (-1, (AddedToken?)null);
            foreach (var candidate in added)
            {
                var found = text.IndexOf(candidate.Content, at, StringComparison.Ordinal);
                if (found >= 0 && (index < 0 || found < index))
                {
                    (index, token) = (found, candidate);
                }
            }

            if (token is null)
            {
                yield return (text[at..], null);
                yield break;
            }

            if (index > at)
            {
                yield return (text[at..index], null);
            }

            yield return (token.Content, token.Id);
            at = index + token.Content.Length;
        }
    }
}
