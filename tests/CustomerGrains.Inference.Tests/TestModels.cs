using CustomerGrains.Testing;

namespace CustomerGrains.Inference.Tests;

/// <summary>What the inference tests share: the committed tiny model.</summary>
internal static class TestModels
{
    /// <summary>tests/fixtures/tiny-decoder.</summary>
    public static string TinyFixture() => Fixtures.Path("tiny-decoder");
}
