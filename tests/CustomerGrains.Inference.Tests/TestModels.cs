using CustomerGrains.ModelMaker;
using CustomerGrains.Testing;

namespace CustomerGrains.Inference.Tests;

/// <summary>What the inference tests share: the committed tiny model, and the tiny model as onnxruntime-genai's
/// builder writes it (int4, GroupQueryAttention), made once per test run.</summary>
internal static class TestModels
{
    private static readonly Lazy<string> GenAi = new(() =>
    {
        var folder = ScratchFolder.Create("cg-genai-int4-");
        GenAiDecoder.Write(folder, DecoderSize.TinyGenAi);
        return folder;
    });

    /// <summary>tests/fixtures/tiny-decoder.</summary>
    public static string TinyFixture() => Fixtures.Path("tiny-decoder");

    /// <summary>A folder with genai_config.json, tokenizer.json and an int4 model.onnx.</summary>
    public static string GenAiInt4() => GenAi.Value;
}
