using System.Text;
using System.Text.Json;
using CustomerGrains.Inference.Tokenization;
using CustomerGrains.ModelMaker;

namespace CustomerGrains.Inference.Tests;

public sealed class TokenizerTests
{
    private static readonly Dictionary<TokenizerFamily, BpeTokenizer> Tokenizers = Enum.GetValues<TokenizerFamily>()
        .ToDictionary(f => f, f => Parse(TokenizerJson.Create(f, TokenizerJson.SupportCorpus, 300)));

    private static BpeTokenizer Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return BpeTokenizer.FromJson(document.RootElement);
    }

    private static string[] Pieces(TokenizerFamily family, string text)
    {
        var tokenizer = Tokenizers[family];
        return tokenizer.Encode(text).Select(id => tokenizer.Decode([id])).ToArray();
    }

    public static TheoryData<TokenizerFamily, string> Texts()
    {
        var data = new TheoryData<TokenizerFamily, string>();
        string[] texts =
        [
            "Where is my order 1234567? I'd like a refund.",
            "Здравствуйте! Где моя посылка? Дякую за допомогу, ґанок і їжак.",
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
    public void Any_text_round_trips_through_encode_and_decode(TokenizerFamily family, string text)
    {
        var tokenizer = Tokenizers[family];

        var ids = tokenizer.Encode(text);

        Assert.Equal(text.Normalize(), tokenizer.Decode(ids));
    }

    [Fact]
    public void Merges_learned_from_the_corpus_make_common_words_single_tokens()
    {
        var tokenizer = Tokenizers[TokenizerFamily.Gpt2];

        Assert.Single(tokenizer.Encode(" order"));
        Assert.True(tokenizer.Encode("Where is my order?").Length < "Where is my order?".Length / 2);
    }

    [Fact]
    public void Both_merge_formats_give_the_same_tokens()
    {
        var pairs = TokenizerJson.Create(TokenizerFamily.Llama3, TokenizerJson.SupportCorpus, 300);
        var node = System.Text.Json.Nodes.JsonNode.Parse(pairs)!;
        var merges = node["model"]!["merges"]!.AsArray();
        var asStrings = new System.Text.Json.Nodes.JsonArray(merges.Select(m => (System.Text.Json.Nodes.JsonNode)$"{m![0]} {m[1]}").ToArray());
        node["model"]!["merges"] = asStrings;

        var text = "Hello, where is my parcel? Привет!";
        Assert.Equal(Parse(pairs).Encode(text), Parse(node.ToJsonString()).Encode(text));
    }

    [Fact]
    public void GPT2_contractions_are_case_sensitive_and_Llama3_Qwen2_are_not()
    {
        Assert.Equal(["I", "'m", " fine"], PreTokens(TokenizerFamily.Gpt2, "I'm fine"));
        Assert.Equal(["I", "'", "M", " FINE"], PreTokens(TokenizerFamily.Gpt2, "I'M FINE"));
        Assert.Equal(["I", "'M", " FINE"], PreTokens(TokenizerFamily.Llama3, "I'M FINE"));
        Assert.Equal(["I", "'M", " FINE"], PreTokens(TokenizerFamily.Qwen2, "I'M FINE"));
        Assert.Equal("I'M FINE", Tokenizers[TokenizerFamily.Gpt2].Decode(Tokenizers[TokenizerFamily.Gpt2].Encode("I'M FINE")));
    }

    [Fact]
    public void Digits_group_per_family_GPT2_runs_Llama3_threes_Qwen2_singles()
    {
        Assert.Equal(["order", " 1234567"], PreTokens(TokenizerFamily.Gpt2, "order 1234567"));
        Assert.Equal(["order", " ", "123", "456", "7"], PreTokens(TokenizerFamily.Llama3, "order 1234567"));
        Assert.Equal(["order", " ", "1", "2", "3", "4", "5", "6", "7"], PreTokens(TokenizerFamily.Qwen2, "order 1234567"));
    }

    [Fact]
    public void Special_tokens_are_matched_whole_and_can_be_skipped_when_decoding()
    {
        var tokenizer = Tokenizers[TokenizerFamily.Qwen2];
        var start = tokenizer.IdOf("<|im_start|>")!.Value;
        var end = tokenizer.IdOf("<|im_end|>")!.Value;

        var ids = tokenizer.Encode("<|im_start|>user\nWhere is my order?<|im_end|>");

        Assert.Equal(start, ids[0]);
        Assert.Equal(end, ids[^1]);
        Assert.Equal("user\nWhere is my order?", tokenizer.Decode(ids, skipSpecial: true));
        Assert.Equal("<|im_start|>user\nWhere is my order?<|im_end|>", tokenizer.Decode(ids));
    }

    [Fact]
    public void The_Qwen2_NFC_normalizer_makes_composed_and_decomposed_text_one()
    {
        var tokenizer = Tokenizers[TokenizerFamily.Qwen2];

        Assert.Equal(tokenizer.Encode("caf\u00e9"), tokenizer.Encode("cafe\u0301"));
        Assert.NotEqual(Tokenizers[TokenizerFamily.Gpt2].Encode("caf\u00e9"), Tokenizers[TokenizerFamily.Gpt2].Encode("cafe\u0301"));
    }

    [Fact]
    public void A_file_that_is_not_byte_level_BPE_is_refused_saying_why()
    {
        var unigram = """{"model":{"type":"Unigram","vocab":[]},"pre_tokenizer":null}""";
        var metaspace = TokenizerJson.Create(TokenizerFamily.Gpt2, "abc", 1).Replace("\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":true", "\"type\":\"Metaspace\"", StringComparison.Ordinal);

        Assert.Contains("not BPE", Assert.Throws<FormatException>(() => Parse(unigram)).Message, StringComparison.Ordinal);
        Assert.Contains("Metaspace", Assert.Throws<FormatException>(() => Parse(metaspace)).Message, StringComparison.Ordinal);
    }

    private static string[] PreTokens(TokenizerFamily family, string text)
    {
        var json = JsonDocument.Parse(TokenizerJson.Create(family, "x", 0)).RootElement;
        var pre = json.GetProperty("pre_tokenizer");
        var pattern = pre.GetProperty("type").GetString() == "Sequence"
            ? pre.GetProperty("pretokenizers")[0].GetProperty("pattern").GetProperty("Regex").GetString()!
            : PreTokenizer.Gpt2Pattern;
        return new PreTokenizer(pattern).Split(text).ToArray();
    }
}
