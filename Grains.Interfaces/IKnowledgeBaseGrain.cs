namespace CustomerGrains.Grains;

/// <summary>What a knowledge-base entry is made from. <paramref name="Aliases"/>: other wordings of the question that
/// it answers (learned from askers, or given); null leaves an entry's aliases as they are.</summary>
[GenerateSerializer, Immutable, Alias("cg.KbEntryInput")]
public sealed record KbEntryInput([property: Id(0)] string? Question, [property: Id(1)] string? Answer, [property: Id(2)] IReadOnlyList<string>? Tags = null, [property: Id(3)] string? Language = null, [property: Id(4)] IReadOnlyList<string>? Aliases = null);

/// <summary>A knowledge-base entry. Source: article, senior-answer or accepted-reply. Aliases: other wordings of the
/// question it answers, matched as the question is (learned from askers' picks and seniors' answers).</summary>
[GenerateSerializer, Immutable, Alias("cg.KbEntry")]
public sealed record KbEntry(
    [property: Id(0)] string EntryId,
    [property: Id(1)] string Question,
    [property: Id(2)] string Answer,
    [property: Id(3)] IReadOnlyList<string> Tags,
    [property: Id(4)] string? Language,
    [property: Id(5)] string Source,
    [property: Id(6)] string? Author,
    [property: Id(7)] int TimesAsked,
    [property: Id(8)] DateTimeOffset CreatedAt,
    [property: Id(9)] DateTimeOffset UpdatedAt,
    [property: Id(10)] IReadOnlyList<string>? Aliases = null);

/// <summary>An entry found for a question, with how well it matches (0 to 1). With an embedding model configured, the
/// score blends the lexical match and the cosine similarity of the texts' embeddings, both given beside it.</summary>
[GenerateSerializer, Immutable, Alias("cg.KbMatch")]
public sealed record KbMatch([property: Id(0)] string EntryId, [property: Id(1)] string Question, [property: Id(2)] string Answer, [property: Id(3)] double Score, [property: Id(4)] string? Language = null, [property: Id(5)] double? Lexical = null, [property: Id(6)] double? Semantic = null);

/// <summary>The answer to <c>POST /v1/kb/ask</c>: the best entry when confident, plus related ones; otherwise the most
/// similar questions to choose from (or to escalate).</summary>
[GenerateSerializer, Immutable, Alias("cg.AskResult")]
public sealed record AskResult([property: Id(0)] string QuestionId, [property: Id(1)] KbMatch? Match, [property: Id(2)] IReadOnlyList<KbMatch> Related, [property: Id(3)] IReadOnlyList<KbMatch> Similar);

/// <summary>Where an employee's question stands. Serialised by these names (the API's and the console's since the start).</summary>
public enum KbQuestionStatus
{
    /// <summary>Asked, and nothing answered it.</summary>
    [System.Text.Json.Serialization.JsonStringEnumMemberName("Unanswered")]
    Unanswered,

    /// <summary>Escalated: a senior's answer is awaited.</summary>
    [System.Text.Json.Serialization.JsonStringEnumMemberName("AwaitingSenior")]
    AwaitingSenior,

    /// <summary>Answered by an entry (found, picked, or the senior's answer added).</summary>
    [System.Text.Json.Serialization.JsonStringEnumMemberName("AddedToKb")]
    AddedToKb,

    /// <summary>Answered, and asked often enough to be a frequently asked question.</summary>
    [System.Text.Json.Serialization.JsonStringEnumMemberName("Faq")]
    Faq,
}

/// <summary>A question an employee asked.</summary>
[GenerateSerializer, Immutable, Alias("cg.KbQuestion")]
public sealed record KbQuestion(
    [property: Id(0)] string QuestionId,
    [property: Id(1)] string Question,
    [property: Id(2)] KbQuestionStatus Status,
    [property: Id(3)] string? EntryId,
    [property: Id(4)] string? Answer,
    [property: Id(5)] int TimesAsked,
    [property: Id(6)] string AskedBy,
    [property: Id(7)] DateTimeOffset CreatedAt);

/// <summary>
/// One tenant's knowledge base (key: tenant id): entries, retrieval that needs no model (full-text search stemmed in
/// English and Russian plus trigram similarity, so typos and word forms match), and the employee question flow: ask,
/// escalate to seniors, answer into the knowledge base.
/// </summary>
[Alias("cg.IKnowledgeBaseGrain")]
public interface IKnowledgeBaseGrain : IGrainWithStringKey
{
    [Alias("AddEntryAsync")]
    Task<KbEntry> AddEntryAsync(KbEntryInput input, string source, string author);

    [ReadOnly]
    [Alias("GetEntryAsync")]
    Task<KbEntry?> GetEntryAsync(string entryId);

    [Alias("UpdateEntryAsync")]
    Task<KbEntry?> UpdateEntryAsync(string entryId, KbEntryInput input);

    [Alias("DeleteEntryAsync")]
    Task<bool> DeleteEntryAsync(string entryId);

    /// <summary>Adds entries in one transaction: all of them or, when one is invalid, none. An entry whose question and
    /// answer are there already is skipped, so importing a file again changes nothing. Returns how many were added.</summary>
    [Alias("ImportAsync")]
    Task<int> ImportAsync(IReadOnlyList<KbEntryInput> entries, string author);

    [ReadOnly]
    [Alias("ExportAsync")]
    Task<IReadOnlyList<KbEntry>> ExportAsync();

    /// <summary>The best-matching entries for <paramref name="text"/>, best first.</summary>
    [ReadOnly]
    [Alias("SearchAsync")]
    Task<IReadOnlyList<KbMatch>> SearchAsync(string text, int limit);

    [Alias("AskAsync")]
    Task<AskResult> AskAsync(string question, string askedBy);

    /// <summary>Sends the question to the seniors; only an asker (<paramref name="by"/> asked it) or a
    /// <paramref name="privileged"/> caller may.</summary>
    [Alias("EscalateAsync")]
    Task<KbQuestion> EscalateAsync(string questionId, string by, bool privileged);

    /// <summary>A senior's answer joins the knowledge base as a new entry. With <paramref name="question"/> (the
    /// question in the knowledge base's words), the asker's wording becomes an alias of the entry.</summary>
    [Alias("AnswerAsync")]
    Task<KbQuestion> AnswerAsync(string questionId, string answer, IReadOnlyList<string>? tags, string author, string? question = null);

    /// <summary>The asker picked <paramref name="entryId"/> among the similar questions offered: the question is
    /// answered by it, and its wording becomes an alias of the entry, answered outright next time. Only an entry an ask
    /// offered for the question, and only by an asker or a <paramref name="privileged"/> caller.</summary>
    [Alias("PickAsync")]
    Task<KbQuestion> PickAsync(string questionId, string entryId, string by, bool privileged);

    /// <summary>Makes a reply suggestion that an agent accepted or edited a knowledge-base entry (source
    /// accepted-reply): by default the customer's message as the question and the reply as sent as the answer, with
    /// personal data masked; <paramref name="changes"/> replaces what it gives. Once per suggestion.</summary>
    [Alias("PromoteReplyAsync")]
    Task<KbEntry> PromoteReplyAsync(string suggestionId, KbEntryInput changes, string author);

    [ReadOnly]
    [Alias("GetQuestionAsync")]
    Task<KbQuestion?> GetQuestionAsync(string questionId);

    [ReadOnly]
    [Alias("ListQuestionsAsync")]
    Task<IReadOnlyList<KbQuestion>> ListQuestionsAsync(KbQuestionStatus? status, string? askedBy = null);
}
