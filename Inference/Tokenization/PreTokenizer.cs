using System.Text.RegularExpressions;

namespace CustomerGrains.Inference.Tokenization;

/// <summary>
/// Splits text into the pieces BPE merges within: the regex a model family was trained with. Llama-3 and Qwen2 files
/// carry theirs (a Split step); GPT-2 files name only ByteLevel, whose regex is <see cref="Gpt2Pattern"/>.
/// </summary>
public sealed class PreTokenizer
{
    /// <summary>GPT-2's: contractions are case-sensitive; digits run together.</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private readonly Regex _regex;

    public PreTokenizer(string pattern, bool addPrefixSpace = false)
    {
        // RegexOptions.None: case-insensitivity is only where a pattern asks for it, as (?i:...).
        _regex = new Regex(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);
        Pattern = pattern;
        AddPrefixSpace = addPrefixSpace;
    }

    public string Pattern { get; }

    public bool AddPrefixSpace { get; }

    /// <summary>The pieces of <paramref name="text"/>; with the "Isolated" behaviour, text between matches is a piece too,
    /// so the pieces always concatenate back to the text.</summary>
    public IEnumerable<string> Split(string text)
    {
        if (AddPrefixSpace && text.Length > 0 && text[0] != ' ')
        {
            text = " " + text;
        }

        var at = 0;
        for (var match = _regex.Match(text); match.Success; match = match.NextMatch())
        {
            if (match.Length == 0)
            {
                continue;
            }

            if (match.Index > at)
            {
                yield return text[at..match.Index];
            }

            yield return match.Value;
            at = match.Index + match.Length;
        }

        if (at < text.Length)
        {
            yield return text[at..];
        }
    }
}
