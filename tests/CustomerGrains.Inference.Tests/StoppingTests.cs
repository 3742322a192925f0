using System.Text.Json;
using CustomerGrains.Inference.Generation;
using CustomerGrains.Inference.Onnx;
using CustomerGrains.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace CustomerGrains.Inference.Tests;

/// <summary>Where generation stops: at every end-of-sequence id config.json and generation_config.json name, and at a
/// stop string that is a special token, which decoded text never shows (decoding leaves special tokens out).</summary>
public sealed class StoppingTests
{
    private static string Scripted(string script)
    {
        var folder = ScratchFolder.Create("cg-stop-");
        ModelMaker.TinyDecoder.WriteScripted(folder, ModelMaker.DecoderSize.Tiny, script, (path, text) =>
        {
            using var tokenizer = Tokenization.TextTokenizer.Load(path);
            return tokenizer.Encode(text);
        });
        return folder;
    }

    [Fact]
    public async Task A_stop_string_that_is_a_special_token_stops_at_its_id_and_stays_out_of_the_reply()
    {
        using var model = DecoderModel.Load(Scripted("Your order shipped.<|endoftext|> Extra turn"), new SessionSettings());
        await using var pool = new InferencePool(model, new PoolOptions(), TimeProvider.System, NullLogger.Instance);

        var stopped = await pool.GenerateAsync(new GenerationRequest("Hi", MaxNewTokens: 40, StopStrings: ["<|endoftext|>"]));
        var unstopped = await pool.GenerateAsync(new GenerationRequest("Hi", MaxNewTokens: 40));
        var streamed = string.Concat(await pool.StreamAsync(new GenerationRequest("Hi", MaxNewTokens: 40, StopStrings: ["<|endoftext|>"])).ToListAsync());

        Assert.Equal(("Your order shipped.", FinishReason.StopString), (stopped.Text, stopped.FinishReason));
        Assert.Equal("Your order shipped.", streamed);
        Assert.Equal(("Your order shipped. Extra turn", FinishReason.EndOfSequence), (unstopped.Text, unstopped.FinishReason)); // decoding drops the special token
    }

    [Fact]
    public void The_end_of_sequence_ids_of_config_json_and_generation_config_json_are_all_stops()
    {
        var folder = ScratchFolder.Create("cg-eos-");
        var config = Path.Combine(folder, "config.json");
        File.WriteAllText(config, JsonSerializer.Serialize(new { vocab_size = 32064, hidden_size = 3072, num_attention_heads = 32, num_hidden_layers = 32, eos_token_id = 32000 }));
        Assert.Equal([32000], DecoderConfig.Read(config).EosTokenIds.Order());

        // Phi-3.5: its end of turn, 32007, is only in generation_config.json.
        File.WriteAllText(Path.Combine(folder, "generation_config.json"), JsonSerializer.Serialize(new { bos_token_id = 1, eos_token_id = new[] { 32007, 32001, 32000 } }));
        Assert.Equal([32000, 32001, 32007], DecoderConfig.Read(config).EosTokenIds.Order());
    }
}
