namespace CustomerGrains.Grains;

/// <summary>Knowledge-base matching and FAQ settings (configuration section <c>Knowledge</c>).</summary>
public sealed class KnowledgeOptions
{
    public const string SectionName = "Knowledge";

    /// <summary>An entry scoring at least this (0 to 1) answers a question outright; below it the asker gets the most
    /// similar questions to choose from. Calibrated on tests/fixtures/kb: rephrasings with typos or other word forms
    /// score 0.40 to 0.92; unrelated questions find nothing, or at most 0.32 when they share a word.</summary>
    public double ConfidentScore { get; set; } = 0.4;

    /// <summary>A question asked this many times becomes a FAQ.</summary>
    public int FaqThreshold { get; set; } = 5;
}
