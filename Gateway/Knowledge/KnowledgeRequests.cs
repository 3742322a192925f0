using CustomerGrains.Gateway.Mediation;
using CustomerGrains.Gateway.Tenants;
using CustomerGrains.Grains;
using MediatR;

namespace CustomerGrains.Gateway.Knowledge;

/// <summary>A senior's answer; <paramref name="Question"/>, when given, is the question in the knowledge base's own
/// words, and the asker's wording becomes its alias.</summary>
public sealed record AnswerInput(string? Answer, IReadOnlyList<string>? Tags = null, string? Question = null);

/// <summary>The similar question the asker picked: the entry it answers.</summary>
public sealed record PickInput(string? EntryId);

public sealed record AskInput(string? Question);

/// <summary>A knowledge-base operation for the caller's tenant, run against its <see cref="IKnowledgeBaseGrain"/>.</summary>
public abstract record KnowledgeRequest<TResult>(Caller Caller) : IRequest<TResult>, IAuditedRequest
{
    public abstract string Action { get; }

    public virtual string Target => "";

    public abstract Task<TResult> RunAsync(IKnowledgeBaseGrain knowledge);
}

public sealed record CreateEntry(Caller Caller, KbEntryInput Input) : KnowledgeRequest<KbEntry>(Caller)
{
    public override string Action => "kb.entry.create";

    public override Task<KbEntry> RunAsync(IKnowledgeBaseGrain knowledge) => knowledge.AddEntryAsync(Input, "article", $"key:{Caller.KeyId}");
}

public sealed record GetEntry(Caller Caller, string EntryId) : KnowledgeRequest<KbEntry>(Caller)
{
    public override string Action => "kb.entry.read";

    public override string Target => EntryId;

    public override async Task<KbEntry> RunAsync(IKnowledgeBaseGrain knowledge) =>
        await knowledge.GetEntryAsync(EntryId) ?? throw new NotFoundException($"No knowledge-base entry '{EntryId}'.");
}

public sealed record UpdateEntry(Caller Caller, string EntryId, KbEntryInput Input) : KnowledgeRequest<KbEntry>(Caller)
{
    public override string Action => "kb.entry.update";

    public override string Target => EntryId;

    public override async Task<KbEntry> RunAsync(IKnowledgeBaseGrain knowledge) =>
        await knowledge.UpdateEntryAsync(EntryId, Input) ?? throw new NotFoundException($"No knowledge-base entry '{EntryId}'.");
}

public sealed record DeleteEntry(Caller Caller, string EntryId) : KnowledgeRequest<bool>(Caller)
{
    public override string Action => "kb.entry.delete";

    public override string Target => EntryId;

    public override async Task<bool> RunAsync(IKnowledgeBaseGrain knowledge) =>
        await knowledge.DeleteEntryAsync(EntryId) ? true : throw new NotFoundException($"No knowledge-base entry '{EntryId}'.");
}

public sealed record ImportEntries(Caller Caller, IReadOnlyList<KbEntryInput> Entries) : KnowledgeRequest<int>(Caller), IValidatedRequest
{
    public override string Action => "kb.import";

    public IEnumerable<(string Field, string Message)> Validate()
    {
        if (Entries.Count is 0 or > 10_000)
        {
            yield return ("entries", "Import 1 to 10,000 entries at a time.");
        }
    }

    public override Task<int> RunAsync(IKnowledgeBaseGrain knowledge) => knowledge.ImportAsync(Entries, $"key:{Caller.KeyId}");
}

public sealed record ExportEntries(Caller Caller) : KnowledgeRequest<IReadOnlyList<KbEntry>>(Caller)
{
    public override string Action => "kb.export";

    public override Task<IReadOnlyList<KbEntry>> RunAsync(IKnowledgeBaseGrain knowledge) => knowledge.ExportAsync();
}

public sealed record Ask(Caller Caller, AskInput Input) : KnowledgeRequest<AskResult>(Caller), IValidatedRequest
{
    public override string Action => "kb.ask";

    public IEnumerable<(string Field, string Message)> Validate()
    {
        if (string.IsNullOrWhiteSpace(Input.Question))
        {
            yield return ("question", "The question is empty.");
        }

        foreach (var problem in RequestLimits.AtMost("question", Input.Question, RequestLimits.MessageChars))
        {
            yield return problem;
        }
    }

    public override Task<AskResult> RunAsync(IKnowledgeBaseGrain knowledge) => knowledge.AskAsync(Input.Question!, $"key:{Caller.KeyId}");
}

public sealed record GetQuestion(Caller Caller, string QuestionId) : KnowledgeRequest<KbQuestion>(Caller)
{
    public override string Action => "kb.question.read";

    public override string Target => QuestionId;

    public override async Task<KbQuestion> RunAsync(IKnowledgeBaseGrain knowledge) =>
        await knowledge.GetQuestionAsync(QuestionId) ?? throw new NotFoundException($"No question '{QuestionId}'.");
}

/// <param name="Mine">Only the questions the caller's key asked.</param>
public sealed record ListQuestions(Caller Caller, string? Status, bool Mine = false) : KnowledgeRequest<IReadOnlyList<KbQuestion>>(Caller)
{
    public override string Action => "kb.question.list";

    public override Task<IReadOnlyList<KbQuestion>> RunAsync(IKnowledgeBaseGrain knowledge) =>
        knowledge.ListQuestionsAsync(
            Status is null ? null
            : Enum.TryParse<KbQuestionStatus>(Status, ignoreCase: true, out var status) && Enum.IsDefined(status) ? status
            : throw new ArgumentException($"Status '{Status}' is not one of {string.Join(", ", Enum.GetNames<KbQuestionStatus>())}."),
            Mine ? $"key:{Caller.KeyId}" : null);
}

public sealed record Escalate(Caller Caller, string QuestionId) : KnowledgeRequest<KbQuestion>(Caller)
{
    public override string Action => "kb.question.escalate";

    public override string Target => QuestionId;

    public override Task<KbQuestion> RunAsync(IKnowledgeBaseGrain knowledge) => knowledge.EscalateAsync(QuestionId, $"key:{Caller.KeyId}", Caller.Role is Roles.Senior or Roles.Admin);
}

public sealed record AnswerQuestion(Caller Caller, string QuestionId, AnswerInput Input) : KnowledgeRequest<KbQuestion>(Caller), IValidatedRequest
{
    public override string Action => "kb.question.answer";

    public override string Target => QuestionId;

    public IEnumerable<(string Field, string Message)> Validate()
    {
        if (string.IsNullOrWhiteSpace(Input.Answer))
        {
            yield return ("answer", "The answer is empty.");
        }
    }

    public override Task<KbQuestion> RunAsync(IKnowledgeBaseGrain knowledge) => knowledge.AnswerAsync(QuestionId, Input.Answer!, Input.Tags, $"key:{Caller.KeyId}", Input.Question);
}

/// <summary>The asker picked one of the similar questions offered: it answers the question, and teaches retrieval the
/// asker's wording.</summary>
public sealed record PickSimilar(Caller Caller, string QuestionId, PickInput Input) : KnowledgeRequest<KbQuestion>(Caller), IValidatedRequest
{
    public override string Action => "kb.question.pick";

    public override string Target => QuestionId;

    public IEnumerable<(string Field, string Message)> Validate()
    {
        if (string.IsNullOrWhiteSpace(Input.EntryId))
        {
            yield return ("entryId", "Name the entry picked (an entryId the ask offered).");
        }
    }

    public override Task<KbQuestion> RunAsync(IKnowledgeBaseGrain knowledge) => knowledge.PickAsync(QuestionId, Input.EntryId!, $"key:{Caller.KeyId}", Caller.Role is Roles.Senior or Roles.Admin);
}

/// <summary>A senior turns an accepted reply suggestion into a knowledge-base entry; the body may replace its question,
/// answer, tags or language.</summary>
public sealed record PromoteReply(Caller Caller, string SuggestionId, KbEntryInput Changes) : KnowledgeRequest<KbEntry>(Caller), IValidatedRequest
{
    public override string Action => "kb.entry.promote";

    public override string Target => SuggestionId;

    public IEnumerable<(string Field, string Message)> Validate()
    {
        if (Changes.Question is { } question && string.IsNullOrWhiteSpace(question))
        {
            yield return ("question", "The question is empty; leave it out to keep the customer's message.");
        }

        if (Changes.Answer is { } answer && string.IsNullOrWhiteSpace(answer))
        {
            yield return ("answer", "The answer is empty; leave it out to keep the reply as sent.");
        }
    }

    public override Task<KbEntry> RunAsync(IKnowledgeBaseGrain knowledge) => knowledge.PromoteReplyAsync(SuggestionId, Changes, $"key:{Caller.KeyId}");
}

/// <summary>Runs every knowledge request on the caller's tenant's knowledge-base grain (one handler for all of them:
/// they differ only in which grain method they call).</summary>
public sealed class KnowledgeHandler<TRequest, TResult>(IGrainFactory grains) : IRequestHandler<TRequest, TResult>
    where TRequest : KnowledgeRequest<TResult>
{
    public Task<TResult> Handle(TRequest request, CancellationToken cancellationToken) =>
        request.RunAsync(grains.GetGrain<IKnowledgeBaseGrain>(request.Caller.TenantId));
}
