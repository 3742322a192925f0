namespace CustomerGrains.Testing;

/// <summary>
/// A temporary folder for files a test run generates once and shares (models written by ModelMaker), removed when the
/// test process exits so that repeated runs do not fill the temp directory.
/// </summary>
public static class ScratchFolder
{
    public static string Create(string prefix)
    {
        var folder = Directory.CreateTempSubdirectory(prefix).FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
                // Best effort: a file still open at exit stays behind in the temp directory.
            }
        };
        return folder;
    }
}
