using System.Text;
using System.Text.Json;
using CustomerGrains.Inference.Tokenization;
using CustomerGrains.ModelMaker;
using CustomerGrains.Testing;

namespace CustomerGrains.Inference.Tests;

/// <summary>
/// Every tokenizer.json family a Hugging Face model ships loads through <see cref="TextTokenizer"/> and tokenizes as the
/// tokenizers library specifies: byte-level BPE in the GPT-2, Llama 3 and Qwen2 layouts, WordPiece (BERT) and Unigram
/// with byte fallback (XLM-R, multilingual-e5). The expected pieces are worked out from each family's published rules,
/// on English, Russian, Ukrainian and emoji text.
/// </summary>
public sealed class TokenizerTests
{
    private static readonly Lazy<string> Folder = new(() => ScratchFolder.Create("cg-tokenizers-"));

    private static readonly Dictionary<TokenizerFamily, TextTokenizer> Bpe = Enum.GetValues<TokenizerFamily>()
        .ToDictionary(f => f, f => Load(TokenizerJson.Create(f, TokenizerJson.SupportCorpus, 300)));

    private static readonly Lazy<(TextTokenizer Tokenizer, string[] Pieces)> Unigram = new(() =>
    {
        var json = TokenizerJson.CreateUnigram(TokenizerJson.SupportCorpus);
        using var document = JsonDocument.Parse(json);
        var pieces = document.RootElement.GetProperty("model").GetProperty("vocab").EnumerateArray().Select(p => p[0].GetString()!).ToArray();
        return (Load(json), pieces);
    });

    private static readonly string[] WordPieceVocabulary =
    [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", ",", "world", "!", "un", "##aff", "##able", "cafe", "где", "моя",
        "посылка", "?", "你", "好", "иод", "'", "s", "it", "дякую", "🙂",
    ];

    private static TextTokenizer Load(string json)
    {
        var path = Path.Combine(Folder.Value, $"{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        return TextTokenizer.Load(path);
    }

    /// <summary>A tokenizer.json as the tokenizers library writes it for bert-base-uncased, with a small vocabulary.</summary>
    public static string WordPieceJson(bool lowercase = true, int maxWordChars = 100) => JsonSerializer.Serialize(new
    {
        version = "1.0",
        added_tokens = new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }.Select((t, i) => new { id = i, content = t, single_word = false, lstrip = false, rstrip = false, normalized = false, special = true }),
        normalizer = new { type = "BertNormalizer", clean_text = true, handle_chinese_chars = true, strip_accents = (bool?)null, lowercase },
        pre_tokenizer = new { type = "BertPreTokenizer" },
        post_processor = new { type = "BertProcessing", cls = new object[] { "[CLS]", 2 }, sep = new object[] { "[SEP]", 3 } },
        decoder = new { type = "WordPiece", prefix = "##", cleanup = true },
        model = new
        {
            type = "WordPiece",
            unk_token = "[UNK]",
            continuing_subword_prefix = "##",
            max_input_chars_per_word = maxWordChars,
            vocab = WordPieceVocabulary.Select((t, i) => (t, i)).ToDictionary(p => p.t, p => p.i),
        },
    });

    private static string[] BpePieces(TextTokenizer tokenizer, string text) => tokenizer.Encode(text).Select(id => tokenizer.Decode([id])).ToArray();

    /// <summary>How a family's pre-tokenizer cuts <paramref name="text"/>: trained on the text itself until no pair is
    /// left to merge, each pre-token is one token.</summary>
    private static string[] PreTokens(TokenizerFamily family, string text) => BpePieces(Load(TokenizerJson.Create(family, text, 10_000)), text);

    public static TheoryData<TokenizerFamily, string> Texts()
    {
        var data = new TheoryData<TokenizerFamily, string>();
        string[] texts =
        [
            "Where is my order 1234567? I'd like a refund.",
            "Здравствуйте! Где моя посылка? Спасибо.",
            "Добрий день! Дякую за допомогу, ґанок і їжак.",
            "Emoji 🚀🔥👩‍👩‍👧 and CJK 你好，世界 and Arabic مرحبا",
            "  leading,  multiple   spaces\tand\ttabs  \n\n\n  trailing newlines \r\n ",
            "",
            "a",
        ];
        foreach (var family in Enum.GetValues<TokenizerFamily>())
        {
            foreach (var text in texts)
            {
                data.Add(family, text);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Texts))]
    public void Any_text_round_trips_through_byte_level_BPE(TokenizerFamily family, string text)
    {
        var tokenizer = Bpe[family];

        var ids = tokenizer.Encode(text);

        Assert.Equal(family == TokenizerFamily.Qwen2 ? text.Normalize() : text, tokenizer.Decode(ids));
        Assert.All(ids, id => Assert.InRange(id, 0, tokenizer.VocabularySize - 1));
    }

    [Fact]
    public void Merges_learned_from_the_corpus_make_common_words_single_tokens()
    {
        var tokenizer = Bpe[TokenizerFamily.Gpt2];

        Assert.Single(tokenizer.Encode(" order"));
        Assert.True(tokenizer.Encode("Where is my order?").Length < "Where is my order?".Length / 2);
        Assert.True(tokenizer.Encode("Где моя посылка?").Length < "Где моя посылка?".Length);
    }

    [Fact]
    public void Both_merge_formats_give_the_same_tokens()
    {
        var pairs = TokenizerJson.Create(TokenizerFamily.Llama3, TokenizerJson.SupportCorpus, 300);
        var node = System.Text.Json.Nodes.JsonNode.Parse(pairs)!;
        var merges = node["model"]!["merges"]!.AsArray();
        node["model"]!["merges"] = new System.Text.Json.Nodes.JsonArray(merges.Select(m => (System.Text.Json.Nodes.JsonNode)$"{m![0]} {m[1]}").ToArray());

        const string text = "Hello, where is my parcel? Привет!";
        Assert.Equal(Load(pairs).Encode(text), Load(node.ToJsonString()).Encode(text));
    }

    [Fact]
    public void GPT2_contractions_are_case_sensitive_and_Llama3_Qwen2_are_not()
    {
        Assert.Equal(["I", "'m", " fine"], PreTokens(TokenizerFamily.Gpt2, "I'm fine"));
        Assert.Equal(["I", "'", "M", " FINE"], PreTokens(TokenizerFamily.Gpt2, "I'M FINE"));
        Assert.Equal(["I", "'M", " FINE"], PreTokens(TokenizerFamily.Llama3, "I'M FINE"));
        Assert.Equal(["I", "'M", " FINE"], PreTokens(TokenizerFamily.Qwen2, "I'M FINE"));
    }

    [Fact]
    public void Digits_group_per_family_GPT2_runs_Llama3_threes_Qwen2_singles()
    {
        Assert.Equal(["order", " 1234567"], PreTokens(TokenizerFamily.Gpt2, "order 1234567"));
        Assert.Equal(["order", " ", "123", "456", "7"], PreTokens(TokenizerFamily.Llama3, "order 1234567"));
        Assert.Equal(["order", " ", "1", "2", "3", "4", "5", "6", "7"], PreTokens(TokenizerFamily.Qwen2, "order 1234567"));
    }

    [Fact]
    public void Cyrillic_words_keep_their_leading_space_as_English_ones_do()
    {
        Assert.Equal(["Где", " моя", " посылка", "?"], PreTokens(TokenizerFamily.Llama3, "Где моя посылка?"));
        Assert.Equal(["Дякую", " за", " допомогу"], PreTokens(TokenizerFamily.Gpt2, "Дякую за допомогу"));
    }

    [Fact]
    public void Special_tokens_are_matched_whole_and_left_out_when_decoding()
    {
        var tokenizer = Bpe[TokenizerFamily.Qwen2];
        var size = tokenizer.VocabularySize; // the three special tokens come last

        var ids = tokenizer.Encode("<|im_start|>user\nWhere is my order?<|im_end|>");

        Assert.Equal(size - 2, ids[0]);
        Assert.Equal(size - 1, ids[^1]);
        Assert.Equal("user\nWhere is my order?", tokenizer.Decode(ids));
    }

    [Fact]
    public void The_Qwen2_NFC_normalizer_makes_composed_and_decomposed_text_one()
    {
        Assert.Equal(Bpe[TokenizerFamily.Qwen2].Encode("caf\u00e9"), Bpe[TokenizerFamily.Qwen2].Encode("cafe\u0301"));
        Assert.NotEqual(Bpe[TokenizerFamily.Gpt2].Encode("caf\u00e9"), Bpe[TokenizerFamily.Gpt2].Encode("cafe\u0301"));
    }

    [Theory]
    [InlineData("Hello, world!", "[CLS] hello , world ! [SEP]")]
    [InlineData("unaffable", "[CLS] un ##aff ##able [SEP]")]
    [InlineData("Café", "[CLS] cafe [SEP]")]                          // accents stripped: strip_accents null follows lowercase
    [InlineData("Где моя посылка?", "[CLS] где моя посылка ? [SEP]")]
    [InlineData("Дякую 🙂", "[CLS] дякую 🙂 [SEP]")]
    [InlineData("Йод", "[CLS] иод [SEP]")]                             // as BERT does: й is и with a breve, stripped
    [InlineData("你好", "[CLS] 你 好 [SEP]")]                          // CJK characters are words of their own
    [InlineData("hel\0lo\tworld", "[CLS] hello world [SEP]")]          // control characters dropped, tabs are spaces
    [InlineData("it's", "[CLS] it ' s [SEP]")]
    [InlineData("xyz unxyz hello", "[CLS] [UNK] [UNK] hello [SEP]")]   // a word not covered is one unknown token, not a part
    public void WordPiece_text_becomes_the_pieces_BERT_makes_between_CLS_and_SEP(string text, string expected)
    {
        var tokenizer = Load(WordPieceJson());

        Assert.Equal(expected, string.Join(' ', tokenizer.Encode(text).Select(id => WordPieceVocabulary[id])));
    }

    [Fact]
    public void WordPiece_without_lowercasing_keeps_case_and_long_words_are_unknown()
    {
        Assert.Equal(["[CLS]", "[UNK]", "world", "[SEP]"], Load(WordPieceJson(lowercase: false)).Encode("Hello world").Select(id => WordPieceVocabulary[id]));
        Assert.Equal(["[CLS]", "[UNK]", "hello", "[SEP]"], Load(WordPieceJson(maxWordChars: 5)).Encode("unaffable hello").Select(id => WordPieceVocabulary[id]));
        Assert.Equal("hello, world!", Load(WordPieceJson()).Decode(Load(WordPieceJson()).Encode("Hello, world!")));
    }

    [Theory]
    [InlineData("Где моя посылка?", "<s> ▁Где ▁моя ▁посылка? </s>")]
    [InlineData("Дякую за допомогу.", "<s> ▁Дякую ▁за ▁допомогу. </s>")]
    [InlineData("Where is my order?", "<s> ▁Where ▁is ▁my ▁order? </s>")]
    [InlineData("Привіт", "<s> ▁ П р и в і т </s>")]                      // an unseen word of known letters is spelled out
    [InlineData("🙂", "<s> ▁ <0xF0> <0x9F> <0x99> <0x82> </s>")]          // an unknown character falls back to its UTF-8 bytes
    public void Unigram_text_becomes_the_pieces_XLM_R_makes(string text, string expected)
    {
        var (tokenizer, pieces) = Unigram.Value;

        Assert.Equal(expected, string.Join(' ', tokenizer.Encode(text).Select(id => pieces[id])));
    }

    [Theory]
    [InlineData("Where is my order 1234? I'd like a refund.")]
    [InlineData("Здравствуйте! Где моя посылка? Спасибо.")]
    [InlineData("Добрий день! Дякую за допомогу, ґанок і їжак.")]
    [InlineData("Emoji 🚀🔥👩‍👩‍👧 and 你好")]
    public void Unigram_with_byte_fallback_round_trips_any_text_without_unknown_tokens(string text)
    {
        var (tokenizer, _) = Unigram.Value;

        var ids = tokenizer.Encode(text);

        Assert.DoesNotContain(3, ids); // <unk>
        Assert.Equal(text.Normalize(NormalizationForm.FormKC), tokenizer.Decode(ids));
    }

    [Fact]
    public void A_file_that_is_missing_or_not_a_tokenizer_is_refused_saying_why()
    {
        var missing = Assert.Throws<FormatException>(() => TextTokenizer.Load(Path.Combine(Folder.Value, "none.json")));
        var notJson = Assert.Throws<FormatException>(() => Load("{ not json"));
        var unknownModel = Assert.Throws<FormatException>(() => Load("""{"model":{"type":"Magic","vocab":{}}}"""));

        Assert.Contains("does not exist", missing.Message, StringComparison.Ordinal);
        Assert.Contains("not a Hugging Face tokenizer.json", notJson.Message, StringComparison.Ordinal);
        Assert.Contains("not a tokenizer.json Hugging Face tokenizers can load", unknownModel.Message, StringComparison.Ordinal);
    }
}
