namespace CustomerGrains.Testing;

/// <summary>Files of the repository (tests/fixtures above all), found by walking up from the running test assembly.</summary>
public static class Fixtures
{
    /// <summary>The path of tests/fixtures/<paramref name="parts"/> (a file or a folder); throws when it is missing.</summary>
    public static string Path(params string[] parts) => InRepository(["tests", "fixtures", .. parts]);

    /// <summary>The path of <paramref name="parts"/> from the repository's root, e.g. deploy/demo/kb.json.</summary>
    public static string InRepository(params string[] parts)
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = System.IO.Path.Combine([directory.FullName, .. parts]);
            if (File.Exists(candidate) || Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"{string.Join('/', parts)} is missing.");
    }
}
