namespace CustomerGrains.Testing;

/// <summary>Files under the repository's tests/fixtures, found by walking up from the running test assembly.</summary>
public static class Fixtures
{
    /// <summary>The path of tests/fixtures/<paramref name="parts"/> (a file or a folder); throws when it is missing.</summary>
    public static string Path(params string[] parts)
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = System.IO.Path.Combine([directory.FullName, "tests", "fixtures", .. parts]);
            if (File.Exists(candidate) || Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"tests/fixtures/{string.Join('/', parts)} is missing.");
    }
}
