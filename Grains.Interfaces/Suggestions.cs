namespace CustomerGrains.Grains;

/// <summary>A request for reply suggestions: the message to answer (default: the customer's last inbound one), how
/// many, and the time budget (default 1,500 ms); past it, retrieval-based suggestions come back, marked degraded.</summary>
[GenerateSerializer, Immutable, Alias("cg.SuggestionRequest")]
public sealed record SuggestionRequest(string? Message = null, int Count = 3, int DeadlineMs = 1500, string RequestedBy = "");

/// <summary>Where a suggested reply comes from; serialised as <c>generated</c> and <c>retrieved</c>.</summary>
public enum SuggestionKind
{
    /// <summary>Written by the model, grounded in the sources it cites.</summary>
    Generated,

    /// <summary>A knowledge-base answer or a past accepted reply as it stands, fitted to the customer.</summary>
    Retrieved,
}

/// <summary>A suggested reply. Sources: the knowledge-base entry ids (kb_...) and past reply ids (sg_...) it rests on;
/// <see cref="Unverified"/> when it cites none. <see cref="Language"/>: the language a retrieved answer is written in
/// when it is not the customer's (none was in theirs): the agent sees it before sending it.</summary>
[GenerateSerializer, Immutable, Alias("cg.Suggestion")]
public sealed record Suggestion(string Id, string Text, SuggestionKind Kind, IReadOnlyList<string> Sources, double Confidence, bool Unverified, string? Language = null);

/// <summary>A source the suggestions were grounded in: a knowledge-base entry (kb_...) or a past accepted reply (sg_...).
/// Score: how well it matches, weighed by feedback; AcceptanceRate: the share of suggestions resting on it that agents
/// accepted or edited (null until one was decided).</summary>
[GenerateSerializer, Immutable, Alias("cg.SuggestionSource")]
public sealed record SuggestionSource(string Id, string Text, double Score, double? AcceptanceRate = null);

/// <summary>The suggestions, the sources retrieved for them, and why they are retrieval-only when the model was
/// absent, failing or too slow.</summary>
[GenerateSerializer, Immutable, Alias("cg.SuggestionResult")]
public sealed record SuggestionResult(
    IReadOnlyList<Suggestion> Suggestions,
    IReadOnlyList<SuggestionSource> Sources,
    bool Degraded,
    string? Reason,
    string? Language,
    string? Model,
    double LatencyMs);

/// <summary>One event of suggestions streamed as they are made (<c>Accept: text/event-stream</c>). Type
/// <c>retrieved</c>: the knowledge-base answers fitted to the customer, at once. <c>draft</c>: the next piece of
/// generated draft number <see cref="Draft"/>. <c>dropped</c>: that draft turned out not to be usable text, and is
/// withdrawn. <c>result</c>: the final record, as the audit stores it and the JSON response returns it.</summary>
[GenerateSerializer, Immutable, Alias("cg.SuggestionEvent")]
public sealed record SuggestionEvent(string Type, IReadOnlyList<Suggestion>? Suggestions = null, int? Draft = null, string? Text = null, SuggestionResult? Result = null);

/// <summary>What an agent did with a suggestion: accepted, edited (with the final text) or rejected.</summary>
[GenerateSerializer, Immutable, Alias("cg.SuggestionFeedback")]
public sealed record SuggestionFeedback(string? Outcome, string? FinalText = null, string? Reason = null);
