using CustomerGrains.Inference.Native;
using CustomerGrains.Testing;

namespace CustomerGrains.Inference.Tests;

/// <summary>What the inference tests share: one loaded ONNX Runtime, and the committed tiny model.</summary>
internal static class TestModels
{
    private static readonly Lazy<OrtRuntime> SharedRuntime = new(() => OrtRuntime.Load(LibraryPath));

    /// <summary>The library test.sh fetched (or the one Inference__OrtLibrary names).</summary>
    public static string LibraryPath => OrtLibrary.Resolve(Environment.GetEnvironmentVariable("Inference__OrtLibrary"));

    public static OrtRuntime Runtime => SharedRuntime.Value;

    /// <summary>tests/fixtures/tiny-decoder.</summary>
    public static string TinyFixture() => Fixtures.Path("tiny-decoder");
}
