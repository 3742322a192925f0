using System.Numerics.Tensors;
using System.Text.Json;
using CustomerGrains.Grains;
using CustomerGrains.Inference.Embedding;
using CustomerGrains.Inference.Onnx;
using CustomerGrains.ModelMaker;
using CustomerGrains.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CustomerGrains.Gateway.Tests;

/// <summary>Knowledge-base matches reranked by an embedding model (a tiny generated encoder) served by the silo.</summary>
public sealed class KnowledgeRerankTests : IAsyncLifetime
{
    private const string Query = "I want a refund for my order, the delivery was late";
    private static readonly Lazy<string> Encoder = new(() =>
    {
        var folder = ScratchFolder.Create("cg-kb-encoder-");
        TinyEncoder.Write(folder);
        return folder;
    });

    private EncoderModel _encoder = null!;
    private List<KbEntryInput> _entries = null!;

    public Task InitializeAsync()
    {
        _encoder = EncoderModel.Load(Encoder.Value, new SessionSettings());
        _entries = JsonSerializer.Deserialize<List<KbEntryInput>>(File.ReadAllText(Fixtures.Path("kb", "support-kb.json")), GatewayCluster.Json)!;
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        _encoder.Dispose();
        return Task.CompletedTask;
    }

    private static Task<TestCluster> StartAsync(string embeddingModel, string? language = null, bool dictionary = false)
    {
        var options = new TestClusterOptions();
        if (dictionary)
        {
            options.Configuration["Knowledge:EnglishRussianDictionary"] = "/usr/share/dictd/mueller7.dict.dz";
        }

        if (language is not null)
        {
            options.Configuration["Inference:Models:embeddings:Languages:0"] = language;
        }

        options.Configuration["Inference:Models:default:Path"] = Fixtures.Path("tiny-decoder");
        options.Configuration["Inference:Models:embeddings:Path"] = Encoder.Value;
        options.Configuration["Knowledge:EmbeddingModel"] = embeddingModel;
        options.ConfigureSilo = builder =>
        {
            builder.Services.AddCustomerGrains();
            builder.Services.AddInference(builder.Configuration);
        };
        return TestCluster.StartAsync(1, options);
    }

    private float Cosine(string a, string b)
    {
        var vectors = _encoder.Embed([a, b]);
        return TensorPrimitives.Dot(vectors[0], vectors[1]);
    }

    [Fact]
    public async Task Matches_score_the_blend_of_lexical_and_embedding_similarity_and_are_ordered_by_it()
    {
        await using var cluster = await StartAsync("embeddings");
        var kb = cluster.Silos[0].GrainFactory.GetGrain<IKnowledgeBaseGrain>("rerank");
        await kb.ImportAsync(_entries, "test");

        var hits = await kb.SearchAsync(Query, 5);

        Assert.Equal(5, hits.Count);
        Assert.Equal(hits.OrderByDescending(h => h.Score).Select(h => h.EntryId), hits.Select(h => h.EntryId));
        foreach (var hit in hits)
        {
            var cosine = Cosine(Query, $"{hit.Question}\n{hit.Answer}");
            Assert.Equal(cosine, hit.Semantic!.Value, tolerance: 1e-3);
            Assert.Equal(0.5 * hit.Lexical!.Value + 0.5 * Math.Max(0, cosine), hit.Score, tolerance: 1e-3);
        }

        // The candidates' embeddings were stored; an edited entry's is dropped and computed again when next needed.
        Assert.True(await cluster.Database.ScalarAsync<long>("SELECT count(*) FROM kb_entries WHERE tenant_id = 'rerank' AND embedding_model = 'embeddings'") >= 5);
        var edited = hits[0];
        await kb.UpdateEntryAsync(edited.EntryId, new KbEntryInput(edited.Question, "Track it under Orders > Tracking; it is on its way.", null, edited.Language));
        Assert.Equal(0, await cluster.Database.ScalarAsync<long>($"SELECT count(*) FROM kb_entries WHERE entry_id = '{edited.EntryId}' AND embedding IS NOT NULL"));
        var again = (await kb.SearchAsync(edited.Question, 20)).Single(h => h.EntryId == edited.EntryId);
        Assert.Equal(Cosine(edited.Question, $"{edited.Question}\nTrack it under Orders > Tracking; it is on its way."), again.Semantic!.Value, tolerance: 1e-3);
    }

    [Fact]
    public async Task A_query_in_a_language_the_encoder_does_not_cover_is_matched_lexically_alone()
    {
        await using var cluster = await StartAsync("embeddings", language: "en");
        var kb = cluster.Silos[0].GrainFactory.GetGrain<IKnowledgeBaseGrain>("english-encoder");
        await kb.ImportAsync(_entries, "test");

        var english = await kb.SearchAsync(Query, 5);
        var russian = await kb.SearchAsync("Хочу вернуть деньги за заказ, доставка опоздала", 5);

        Assert.All(english, h => Assert.NotNull(h.Semantic));
        Assert.NotEmpty(russian);
        Assert.All(russian, h => Assert.Null(h.Semantic));
    }

    [Fact]
    public async Task An_entry_in_a_language_the_encoder_does_not_cover_keeps_its_lexical_score()
    {
        await using var cluster = await StartAsync("embeddings", language: "en");
        var kb = cluster.Silos[0].GrainFactory.GetGrain<IKnowledgeBaseGrain>("mixed-languages");
        await kb.ImportAsync([.. _entries, new KbEntryInput("Refund за order с опоздавшей delivery", "Оформите возврат в разделе Заказы.", null, "ru")], "test");

        var hits = await kb.SearchAsync(Query, 20);

        var russian = Assert.Single(hits, h => h.Language == "ru");
        Assert.Null(russian.Semantic);
        Assert.Equal(russian.Lexical, russian.Score);
        Assert.All(hits.Where(h => h.Language != "ru"), h => Assert.NotNull(h.Semantic));
        Assert.Equal(0, await cluster.Database.ScalarAsync<long>("SELECT count(*) FROM kb_entries WHERE tenant_id = 'mixed-languages' AND language = 'ru' AND embedding IS NOT NULL"));
    }

    [Fact]
    public async Task A_question_sharing_no_word_with_any_entry_finds_the_entries_nearest_in_meaning()
    {
        // English only: the Russian and Ukrainian entries are looked at once and left without an embedding.
        await using var cluster = await StartAsync("embeddings", language: "en");
        var kb = cluster.Silos[0].GrainFactory.GetGrain<IKnowledgeBaseGrain>("nearest");
        await kb.ImportAsync(_entries, "test");
        const string Paraphrase = "Quokka jamboree";

        // Each search embeds a batch of the entries the encoder has not looked at, until none is left.
        for (var searches = 0; await cluster.Database.ScalarAsync<long>("SELECT count(*) FROM kb_entries WHERE tenant_id = 'nearest' AND embedding_model IS NULL") > 0; searches++)
        {
            Assert.True(searches < 10, "the entries were not all embedded");
            await kb.SearchAsync(Paraphrase, 5);
        }

        var hits = await kb.SearchAsync(Paraphrase, 5);

        var english = _entries.Where(e => e.Language == "en").ToList();
        var nearest = english.OrderByDescending(e => Cosine(Paraphrase, $"{e.Question}\n{e.Answer}")).Take(5).Select(e => e.Question);
        Assert.Equal(nearest, hits.Select(h => h.Question));
        Assert.All(hits, h => Assert.Equal(0, h.Lexical));
        Assert.All(hits, h => Assert.Equal(0.5 * Math.Max(0, h.Semantic!.Value), h.Score, tolerance: 1e-3));
        Assert.Equal(english.Count, await cluster.Database.ScalarAsync<long>("SELECT count(*) FROM kb_entries WHERE tenant_id = 'nearest' AND embedding IS NOT NULL"));
        Assert.Equal(_entries.Count - english.Count, await cluster.Database.ScalarAsync<long>(
            "SELECT count(*) FROM kb_entries WHERE tenant_id = 'nearest' AND embedding_model = 'embeddings' AND embedding IS NULL"));

        // The nearest entry deleted, the second edited: neither is offered with what it was; the edited one comes back
        // with its new text once embedded again.
        await kb.DeleteEntryAsync(hits[0].EntryId);
        var edited = english.Single(e => e.Question == hits[1].Question) with { Answer = "Quokka jamboree tickets are sold at the door." };
        await kb.UpdateEntryAsync(hits[1].EntryId, edited);
        var after = await kb.SearchAsync(Paraphrase, 5);
        Assert.DoesNotContain(after, h => h.EntryId == hits[0].EntryId);
        var again = Assert.Single(after, h => h.EntryId == hits[1].EntryId); // a lexical candidate now, embedded again
        Assert.Equal(Cosine(Paraphrase, $"{edited.Question}\n{edited.Answer}"), again.Semantic!.Value, tolerance: 1e-3);
    }

    [Fact]
    public async Task A_confident_answer_in_the_askers_language_comes_before_a_translation_ranked_above_it()
    {
        await using var cluster = await StartAsync("embeddings", language: "en", dictionary: true);
        var kb = cluster.Silos[0].GrainFactory.GetGrain<IKnowledgeBaseGrain>("asker-language");
        await kb.ImportAsync(
        [
            new("Where is my parcel?", "Track it under Orders.", null, "en"),
            new("Где моя посылка?", "Отследите её в разделе Заказы.", null, "ru"),
        ], "test");
        const string Question = "My parcel?";

        // The Russian entry, found through "parcel: посылка", keeps its lexical score; the English one scores the blend
        // with the encoder's cosine, which ranks it second here.
        var hits = await kb.SearchAsync(Question, 5);
        Assert.Equal(["ru", "en"], hits.Select(h => h.Language));
        Assert.True(hits[1].Score >= 0.4, $"the English entry is not confident here: {hits[1].Score}");

        var answer = await kb.AskAsync(Question, "agent-1");

        Assert.Equal("Where is my parcel?", answer.Match!.Question);
    }

    [Fact]
    public async Task When_the_embedding_model_cannot_embed_the_lexical_order_stands()
    {
        // Configured with the decoder by mistake: embedding fails, and matching goes on without it.
        await using var cluster = await StartAsync("default");
        var kb = cluster.Silos[0].GrainFactory.GetGrain<IKnowledgeBaseGrain>("lexical");
        await kb.ImportAsync(_entries, "test");

        var hits = await kb.SearchAsync(Query, 5);

        Assert.Equal(5, hits.Count);
        Assert.All(hits, h => Assert.Null(h.Semantic));
        Assert.Equal(hits.OrderByDescending(h => h.Score).Select(h => h.Score), hits.Select(h => h.Score));
    }
}
