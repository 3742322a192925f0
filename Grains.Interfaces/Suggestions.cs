namespace CustomerGrains.Grains;

/// <summary>A request for reply suggestions: the message to answer (default: the customer's last inbound one), how
/// many, and the time budget (default 1,500 ms); past it, retrieval-based suggestions come back, marked degraded.</summary>
[GenerateSerializer, Immutable, Alias("cg.SuggestionRequest")]
public sealed record SuggestionRequest([property: Id(0)] string? Message = null, [property: Id(1)] int Count = 3, [property: Id(2)] int DeadlineMs = 1500, [property: Id(3)] string RequestedBy = "");

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
public sealed record Suggestion([property: Id(0)] string Id, [property: Id(1)] string Text, [property: Id(2)] SuggestionKind Kind, [property: Id(3)] IReadOnlyList<string> Sources, [property: Id(4)] double Confidence, [property: Id(5)] bool Unverified, [property: Id(6)] string? Language = null);

/// <summary>A source the suggestions were grounded in: a knowledge-base entry (kb_...) or a past accepted reply (sg_...).
/// Score: how well it matches, weighed by feedback; AcceptanceRate: the share of suggestions resting on it that agents
/// accepted or edited (null until one was decided).</summary>
[GenerateSerializer, Immutable, Alias("cg.SuggestionSource")]
public sealed record SuggestionSource([property: Id(0)] string Id, [property: Id(1)] string Text, [property: Id(2)] double Score, [property: Id(3)] double? AcceptanceRate = null);

/// <summary>The suggestions, the sources retrieved for them, and why they are retrieval-only when the model was
/// absent, failing or too slow.</summary>
[GenerateSerializer, Immutable, Alias("cg.SuggestionResult")]
public sealed record SuggestionResult(
    [property: Id(0)] IReadOnlyList<Suggestion> Suggestions,
    [property: Id(1)] IReadOnlyList<SuggestionSource> Sources,
    [property: Id(2)] bool Degraded,
    [property: Id(3)] string? Reason,
    [property: Id(4)] string? Language,
    [property: Id(5)] string? Model,
    [property: Id(6)] double LatencyMs);

/// <summary>One event of suggestions streamed as they are made (<c>Accept: text/event-stream</c>). Type
/// <c>retrieved</c>: the knowledge-base answers fitted to the customer, at once. <c>draft</c>: the next piece of
/// generated draft number <see cref="Draft"/>. <c>dropped</c>: that draft turned out not to be usable text, and is
/// withdrawn. <c>result</c>: the final record, as the audit stores it and the JSON response returns it.</summary>
[GenerateSerializer, Immutable, Alias("cg.SuggestionEvent")]
public sealed record SuggestionEvent([property: Id(0)] string Type, [property: Id(1)] IReadOnlyList<Suggestion>? Suggestions = null, [property: Id(2)] int? Draft = null, [property: Id(3)] string? Text = null, [property: Id(4)] SuggestionResult? Result = null);

/// <summary>What an agent did with a suggestion: accepted, edited (with the final text) or rejected.</summary>
[GenerateSerializer, Immutable, Alias("cg.SuggestionFeedback")]
public sealed record SuggestionFeedback([property: Id(0)] string? Outcome, [property: Id(1)] string? FinalText = null, [property: Id(2)] string? Reason = null);

/// <summary>A tenant's suggestion audit (key: tenant id): what agents did with the suggestions they were shown.</summary>
[Alias("cg.ISuggestionAuditGrain")]
public interface ISuggestionAuditGrain : IGrainWithStringKey
{
    /// <summary>Accepted, edited (with the text sent) or rejected (with why), once; 404 and 409 as exceptions.</summary>
    [Alias("RecordFeedbackAsync")]
    Task RecordFeedbackAsync(string suggestionId, SuggestionFeedback feedback);

    /// <summary>What was sent into the CRM from a suggestion of the customer's: accepted as it was, or edited.</summary>
    [Alias("RecordSentAsync")]
    Task RecordSentAsync(string customerId, string suggestionId, string text);
}
