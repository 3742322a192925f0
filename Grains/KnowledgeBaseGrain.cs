using CustomerGrains.Grains.Knowledge;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace CustomerGrains.Grains;

/// <summary>
/// One tenant's knowledge base: its entries (<see cref="KnowledgeStore"/>), their search (<see cref="KnowledgeSearch"/>),
/// the employees' question flow (<see cref="QuestionFlow"/>) and the promotion of accepted replies
/// (<see cref="ReplyPromotion"/>). It keeps nothing in memory but a copy of its entries' embeddings, which a search reads
/// back before it offers one: every change is one PostgreSQL statement or transaction, so the activation is reentrant on
/// purpose. Asks wait on PostgreSQL and on the encoder's rerank, and one tenant's
/// agents ask at once; not reentrant, each ask waited behind every other's (bench.sh retrieval, asks_per_s).
/// </summary>
[GrainType("knowledgebase")]
[Reentrant]
public sealed class KnowledgeBaseGrain(
    NpgsqlDataSource database, Suggestions.SuggestionAudit audit, IOptions<KnowledgeOptions> options, IOptions<Inference.InferenceOptions> inference, TimeProvider time,
    ILogger<KnowledgeBaseGrain> logger)
    : Grain, IKnowledgeBaseGrain
{
    private KnowledgeStore _store = null!;
    private KnowledgeSearch _search = null!;
    private QuestionFlow _questions = null!;
    private ReplyPromotion _promotion = null!;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var tenantId = this.GetPrimaryKeyString();
        _store = new KnowledgeStore(database, tenantId);
        _search = new KnowledgeSearch(database, tenantId, options.Value, inference.Value, GrainFactory, time, logger);
        _questions = new QuestionFlow(database, tenantId, _store, _search, options.Value, time);
        _promotion = new ReplyPromotion(database, tenantId, _store, audit);
        return Task.CompletedTask;
    }

    public Task<KbEntry> AddEntryAsync(KbEntryInput input, string source, string author) => _store.AddEntryAsync(input, source, author);

    public Task<KbEntry?> GetEntryAsync(string entryId) => _store.GetEntryAsync(entryId);

    public Task<KbEntry?> UpdateEntryAsync(string entryId, KbEntryInput input) => _store.UpdateEntryAsync(entryId, input);

    public Task<bool> DeleteEntryAsync(string entryId) => _store.DeleteEntryAsync(entryId);

    public Task<int> ImportAsync(IReadOnlyList<KbEntryInput> entries, string author) => _store.ImportAsync(entries, author);

    public Task<IReadOnlyList<KbEntry>> ExportAsync() => _store.ExportAsync();

    public Task<IReadOnlyList<KbMatch>> SearchAsync(string text, int limit) => _search.SearchAsync(text, limit);

    public Task<AskResult> AskAsync(string question, string askedBy) => _questions.AskAsync(question, askedBy);

    public Task<KbQuestion> EscalateAsync(string questionId, string by, bool privileged) => _questions.EscalateAsync(questionId, by, privileged);

    public Task<KbQuestion> AnswerAsync(string questionId, string answer, IReadOnlyList<string>? tags, string author, string? question = null) =>
        _questions.AnswerAsync(questionId, answer, tags, author, question);

    public Task<KbQuestion> PickAsync(string questionId, string entryId, string by, bool privileged) => _questions.PickAsync(questionId, entryId, by, privileged);

    public Task<KbQuestion?> GetQuestionAsync(string questionId) => _store.GetQuestionAsync(questionId);

    public Task<IReadOnlyList<KbQuestion>> ListQuestionsAsync(KbQuestionStatus? status, string? askedBy = null) => _store.ListQuestionsAsync(status, askedBy);

    public Task<KbEntry> PromoteReplyAsync(string suggestionId, KbEntryInput changes, string author) => _promotion.PromoteReplyAsync(suggestionId, changes, author);
}
