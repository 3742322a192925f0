using System.Text.Json;
using CustomerGrains.Inference.Tokenization;
using CustomerGrains.Testing;

namespace CustomerGrains.Inference.Tests;

/// <summary>WordPiece as BERT-family encoders' tokenizer.json describes it, through the loader encoders use.</summary>
public sealed class WordPieceTokenizerTests
{
    private static readonly string[] Vocabulary =
    [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", ",", "world", "!", "un", "##aff", "##able", "cafe", "где", "моя",
        "посылка", "?", "你", "好", "иод", "'", "s", "it",
    ];

    private static readonly Lazy<string> Folder = new(() => ScratchFolder.Create("cg-wordpiece-"));

    /// <summary>A tokenizer.json as the tokenizers library writes it for bert-base-uncased, with a small vocabulary.</summary>
    public static string Json(bool lowercase = true, int maxWordChars = 100) => JsonSerializer.Serialize(new
    {
        version = "1.0",
        added_tokens = new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }.Select((t, i) => new { id = i, content = t, single_word = false, lstrip = false, rstrip = false, normalized = false, special = true }),
        normalizer = new { type = "BertNormalizer", clean_text = true, handle_chinese_chars = true, strip_accents = (bool?)null, lowercase },
        pre_tokenizer = new { type = "BertPreTokenizer" },
        post_processor = new { type = "BertProcessing", cls = new object[] { "[CLS]", 2 }, sep = new object[] { "[SEP]", 3 } },
        model = new
        {
            type = "WordPiece",
            unk_token = "[UNK]",
            continuing_subword_prefix = "##",
            max_input_chars_per_word = maxWordChars,
            vocab = Vocabulary.Select((t, i) => (t, i)).ToDictionary(p => p.t, p => p.i),
        },
    });

    private static ITextTokenizer Load(string json)
    {
        var path = Path.Combine(Folder.Value, $"{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        return TextTokenizer.Load(path);
    }

    private static string[] Pieces(ITextTokenizer tokenizer, string text) => tokenizer.Encode(text).Select(id => Vocabulary[id]).ToArray();

    [Theory]
    [InlineData("Hello, world!", "hello , world !")]
    [InlineData("unaffable", "un ##aff ##able")]
    [InlineData("Café", "cafe")]                          // accents stripped: strip_accents null follows lowercase
    [InlineData("Где моя посылка?", "где моя посылка ?")]
    [InlineData("Йод", "иод")]                             // as BERT does: й is и with a breve, stripped
    [InlineData("你好", "你 好")]                          // CJK characters are words of their own
    [InlineData("hel\0lo\tworld", "hello world")]          // control characters dropped, tabs are spaces
    [InlineData("it's", "it ' s")]
    [InlineData("[CLS] hello [SEP]", "[CLS] hello [SEP]")] // added tokens are matched whole, before normalising
    [InlineData("xyz unxyz hello", "[UNK] [UNK] hello")]   // a word not covered is one unknown token, not a part
    public void Text_becomes_the_pieces_BERT_would_make(string text, string expected)
    {
        Assert.Equal(expected, string.Join(' ', Pieces(Load(Json()), text)));
    }

    [Fact]
    public void Without_lowercasing_case_and_accents_stay_and_long_words_are_unknown()
    {
        Assert.Equal(["[UNK]", "world"], Pieces(Load(Json(lowercase: false)), "Hello world"));
        Assert.Equal(["[UNK]", "hello"], Pieces(Load(Json(maxWordChars: 5)), "unaffable hello"));
    }

    [Fact]
    public void A_tokenizer_that_is_neither_BPE_nor_WordPiece_is_refused_saying_why()
    {
        var unigram = """{"model":{"type":"Unigram","vocab":[["<unk>",0]]}}""";
        var wordPieceWithoutUnknown = Json().Replace("\"unk_token\":\"[UNK]\"", "\"unk_token\":\"<unk>\"", StringComparison.Ordinal);

        Assert.Contains("'Unigram' is not supported", Assert.Throws<FormatException>(() => Load(unigram)).Message, StringComparison.Ordinal);
        Assert.Contains("'<unk>' is not in the vocabulary", Assert.Throws<FormatException>(() => Load(wordPieceWithoutUnknown)).Message, StringComparison.Ordinal);
        Assert.IsType<BpeTokenizer>(Load(CustomerGrains.ModelMaker.TokenizerJson.Create(CustomerGrains.ModelMaker.TokenizerFamily.Gpt2, "abc", 1)));
    }
}
