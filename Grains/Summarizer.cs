using System.Text;

namespace CustomerGrains.Grains;

/// <summary>
/// The extractive summary of turns older than the recent window: the first sentence of each, newest first,
/// within a size bound. A model-written summary can replace it once one is configured.
/// </summary>
public static class Summarizer
{
    public const int MaxLength = 1500;
    private const int MaxSentence = 160;

    public static string Summarize(IEnumerable<Interaction> olderNewestFirst, int olderCount)
    {
        if (olderCount == 0)
        {
            return "";
        }

        var summary = new StringBuilder($"{olderCount} earlier message(s). ");
        foreach (var turn in olderNewestFirst)
        {
            var line = $"[{turn.OccurredAt:yyyy-MM-dd} {(turn.Direction == InteractionDirection.Inbound ? "customer" : "us")}] {FirstSentence(turn.Text)} ";
            if (summary.Length + line.Length > MaxLength)
            {
                break;
            }

            summary.Append(line);
        }

        return summary.ToString().TrimEnd();
    }

    public static string FirstSentence(string text)
    {
        var flat = string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        var end = flat.IndexOfAny(['.', '!', '?', '\n']);
        var sentence = end > 0 ? flat[..(end + 1)] : flat;
        return sentence.Length <= MaxSentence ? sentence : sentence[..(MaxSentence - 1)] + "…";
    }
}
