namespace CustomerGrains.Inference.Native;

/// <summary>Where the ONNX Runtime library is by default: the copy run.sh and test.sh place in the repository
/// (<c>.state/onnxruntime/libonnxruntime.so.1</c>), found by walking up from the application's directory.</summary>
public static class OrtLibrary
{
    public const string RepositoryCopy = ".state/onnxruntime/libonnxruntime.so.1";

    /// <summary>The configured path if any, else the repository copy nearest above the application.</summary>
    public static string Resolve(string? configured)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return configured;
        }

        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, RepositoryCopy);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return RepositoryCopy;
    }
}
