using CustomerGrains.Inference.Native;

namespace CustomerGrains.Inference.Tests;

/// <summary>What the inference tests share: one loaded ONNX Runtime, and the committed tiny model.</summary>
internal static class TestModels
{
    private static readonly Lazy<OrtRuntime> SharedRuntime = new(() => OrtRuntime.Load(LibraryPath));

    /// <summary>The library test.sh fetched (or the one Inference__OrtLibrary names).</summary>
    public static string LibraryPath => OrtLibrary.Resolve(Environment.GetEnvironmentVariable("Inference__OrtLibrary"));

    public static OrtRuntime Runtime => SharedRuntime.Value;

    /// <summary>tests/fixtures/tiny-decoder, found by walking up from the test assembly.</summary>
    public static string TinyFixture()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "tests", "fixtures", "tiny-decoder");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("tests/fixtures/tiny-decoder is missing.");
    }
}
