using System.Text;

namespace CustomerGrains.Grains;

/// <summary>
/// The extractive summary of turns older than the recent window: a count, then the first sentence of each older
/// turn, newest first, within <see cref="MaxLength"/>. A model-written summary can replace it once one is configured.
/// </summary>
public sealed class Summarizer
{
    public const int MaxLength = 1500;
    private const int MaxSentence = 160;
    private readonly LinkedList<string> _lines = new(); // newest first
    private int _lineLength;

    /// <summary>How many turns are older than the window.</summary>
    public int OlderCount { get; private set; }

    /// <summary>Starts from the older turns read at activation (newest first) and how many there are in all.</summary>
    public void Reset(IEnumerable<Interaction> olderNewestFirst, int olderCount)
    {
        _lines.Clear();
        _lineLength = 0;
        OlderCount = 0;
        foreach (var turn in olderNewestFirst.Reverse())
        {
            Add(turn);
        }

        OlderCount = olderCount;
    }

    /// <summary>A turn that just left the recent window: it becomes the newest summarised line.</summary>
    public void Add(Interaction turn)
    {
        OlderCount++;
        var line = $"[{turn.OccurredAt:yyyy-MM-dd} {(turn.Direction == InteractionDirection.Inbound ? "customer" : "us")}] {FirstSentence(turn.Text)}";
        _lines.AddFirst(line);
        _lineLength += line.Length + 1;
        while (_lineLength > MaxLength && _lines.Last is { } oldest)
        {
            _lineLength -= oldest.Value.Length + 1;
            _lines.RemoveLast();
        }
    }

    public override string ToString() =>
        OlderCount == 0 ? "" : new StringBuilder($"{OlderCount} earlier message(s). ").AppendJoin(' ', _lines).ToString();

    public static string FirstSentence(string text)
    {
        var flat = string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        var end = flat.IndexOfAny(['.', '!', '?']);
        var sentence = end > 0 ? flat[..(end + 1)] : flat;
        return sentence.Length <= MaxSentence ? sentence : sentence[..(MaxSentence - 1)] + "…";
    }
}
