using System.Numerics.Tensors;
using System.Text.Json;
using CustomerGrains.Grains;
using CustomerGrains.Inference.Embedding;
using CustomerGrains.Inference.Generation;
using CustomerGrains.Inference.Onnx;
using CustomerGrains.Inference.Tokenization;
using CustomerGrains.ModelMaker;
using CustomerGrains.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace CustomerGrains.Inference.Tests;

/// <summary>Sentence encoders (for reranking knowledge-base matches) on a tiny generated BERT-style encoder.</summary>
public sealed class EncoderTests : IDisposable
{
    private static readonly Lazy<string> Folder = new(() =>
    {
        var folder = ScratchFolder.Create("cg-encoder-");
        TinyEncoder.Write(folder);
        return folder;
    });

    private readonly EncoderModel _model = EncoderModel.Load(Folder.Value, new SessionSettings());

    public static string EncoderFolder => Folder.Value;

    [Fact]
    public void Embeddings_are_unit_length_and_a_text_gets_the_same_one_alone_or_beside_a_longer_text()
    {
        const string text = "Where is my order?";

        var alone = _model.Embed([text])[0];
        var batched = _model.Embed(["Hello, I ordered a parcel last week and it has not arrived yet. Could you check it?", text]);

        Assert.Equal(TinyEncoder.Hidden, alone.Length);
        Assert.Equal(1f, TensorPrimitives.Norm(alone), 4);
        Assert.Equal(1f, TensorPrimitives.Dot(alone, batched[1]), 4); // the padding after the short text is masked
        Assert.True(TensorPrimitives.Dot(alone, batched[0]) < 0.999f);
    }

    [Fact]
    public void Texts_sharing_words_are_closer_than_texts_sharing_none()
    {
        var vectors = _model.Embed(["Where is my order?", "Where is my order, please?", "Guten Tag, Rechnung bitte."]);

        var close = TensorPrimitives.Dot(vectors[0], vectors[1]);
        var far = TensorPrimitives.Dot(vectors[0], vectors[2]);

        Assert.True(close > far + 0.2f, $"shared words {close:0.000}, none shared {far:0.000}");
    }

    [Fact]
    public void A_decoder_or_an_incomplete_folder_is_refused_naming_why()
    {
        var decoder = Assert.Throws<ModelLayoutException>(() => EncoderModel.Load(TestModels.TinyFixture(), new SessionSettings()));
        var empty = ScratchFolder.Create("cg-empty-");
        var missing = Assert.Throws<ModelLayoutException>(() => EncoderModel.Load(empty, new SessionSettings()));

        Assert.Contains("is a decoder", decoder.Message, StringComparison.Ordinal);
        Assert.Contains("has no config.json", missing.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => _model.Embed(["fine", " "]));
    }

    [Fact]
    public void A_BERT_style_encoder_with_a_WordPiece_tokenizer_loads_and_embeds()
    {
        var folder = ScratchFolder.Create("cg-bert-encoder-");
        foreach (var file in new[] { "config.json", "model.onnx" })
        {
            File.Copy(Path.Combine(Folder.Value, file), Path.Combine(folder, file));
        }

        File.WriteAllText(Path.Combine(folder, "tokenizer.json"), TokenizerTests.WordPieceJson());
        using var bert = EncoderModel.Load(folder, new SessionSettings());

        var vectors = bert.Embed(["Café, hello!", "cafe , HELLO !", "Где моя посылка?"]);

        
        Assert.Equal(1f, TensorPrimitives.Norm(vectors[2]), 4);
        Assert.Equal(1f, TensorPrimitives.Dot(vectors[0], vectors[1]), 4); // the same pieces once normalised
        Assert.True(TensorPrimitives.Dot(vectors[0], vectors[2]) < 0.999f);
    }

    [Fact]
    public void An_XLM_R_shaped_encoder_with_a_Unigram_tokenizer_loads_as_a_multilingual_e5_export_would()
    {
        var folder = ScratchFolder.Create("cg-xlmr-encoder-");
        TinyEncoder.Write(folder, multilingual: true);
        using var e5 = EncoderModel.Load(folder, new SessionSettings());

        var vectors = e5.Embed(["Где моя посылка?", "Где моя посылка? Спасибо.", "Дякую за допомогу 🙂"]);
        var alone = e5.Embed(["Дякую за допомогу 🙂"])[0];

        Assert.False(e5.Session.Inputs.ContainsKey("token_type_ids"));
        Assert.Equal([0, .. e5.Tokenizer.Encode("Где")[1..^1], 2], e5.Tokenizer.Encode("Где")); // <s> … </s>
        Assert.Equal(1f, TensorPrimitives.Dot(alone, vectors[2]), 4);
        Assert.True(TensorPrimitives.Dot(vectors[0], vectors[1]) > TensorPrimitives.Dot(vectors[0], vectors[2]));
    }

    [Theory]
    [InlineData("""{"type":"BertProcessing","cls":["[CLS]",101],"sep":["[SEP]",102]}""", "101", "102")]
    [InlineData("""{"type":"RobertaProcessing","cls":["<s>",0],"sep":["</s>",2],"trim_offsets":true,"add_prefix_space":false}""", "0", "2")]
    [InlineData("""{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"[CLS]","type_id":0}},{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"[SEP]","type_id":0}}],"pair":[],"special_tokens":{"[CLS]":{"id":"[CLS]","ids":[101],"tokens":["[CLS]"]},"[SEP]":{"id":"[SEP]","ids":[102],"tokens":["[SEP]"]}}}""", "101", "102")]
    [InlineData("""{"type":"Sequence","processors":[{"type":"ByteLevel","trim_offsets":false},{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<|begin_of_text|>","type_id":0}},{"Sequence":{"id":"A","type_id":0}}],"pair":[],"special_tokens":{"<|begin_of_text|>":{"id":"<|begin_of_text|>","ids":[128000],"tokens":["<|begin_of_text|>"]}}}]}""", "128000", "")]
    [InlineData("null", "", "")]
    public void The_special_tokens_around_a_text_come_from_the_tokenizers_post_processor(string processor, string prefix, string suffix)
    {
        using var json = JsonDocument.Parse($"{{\"post_processor\":{processor}}}");

        var (before, after) = EncoderModel.Template(json.RootElement, "folder");

        Assert.Equal(prefix, string.Join(",", before));
        Assert.Equal(suffix, string.Join(",", after));
    }

    [Fact]
    public async Task Concurrent_callers_get_what_the_model_gives_each_alone()
    {
        await using var embedder = new Embedder(_model, maxBatch: 8, maxQueue: 64, NullLogger.Instance);
        var texts = Enumerable.Range(0, 20).Select(i => $"Order {i} has not arrived").ToArray();

        var results = await Task.WhenAll(texts.Select(t => embedder.EmbedAsync([t, t + " yet"])));

        for (var i = 0; i < texts.Length; i++)
        {
            var alone = _model.Embed([texts[i], texts[i] + " yet"]);
            Assert.Equal(1f, TensorPrimitives.Dot(alone[0], results[i][0]), 4);
            Assert.Equal(1f, TensorPrimitives.Dot(alone[1], results[i][1]), 4);
        }
    }

    [Fact]
    public async Task A_silo_serves_an_encoder_beside_a_decoder_through_the_inference_grain()
    {
        var options = new TestClusterOptions();
        options.Configuration["Inference:Models:default:Path"] = TestModels.TinyFixture();
        options.Configuration["Inference:Models:embeddings:Path"] = Folder.Value;
        options.ConfigureSilo = builder =>
        {
            builder.Services.AddCustomerGrains();
            builder.Services.AddInference(builder.Configuration);
        };
        await using var cluster = await TestCluster.StartAsync(1, options);
        var grains = cluster.Silos[0].GrainFactory;

        var vectors = await grains.GetGrain<IInferenceGrain>("embeddings").EmbedAsync(["Where is my order?"]);
        var wrongKind = await Assert.ThrowsAsync<ModelNotLoadedException>(() => grains.GetGrain<IInferenceGrain>("default").EmbedAsync(["hi"]));
        var generated = await grains.GetGrain<IInferenceGrain>("default").GenerateAsync(new InferenceRequest("Hi", MaxNewTokens: 4));

        Assert.Equal(1f, TensorPrimitives.Dot(_model.Embed(["Where is my order?"])[0], vectors[0]), 4);
        Assert.Contains("No model 'default' is loaded on this silo as an encoder", wrongKind.Message, StringComparison.Ordinal);
        Assert.True(generated.Tokens > 0);
    }

    public void Dispose() => _model.Dispose();
}
