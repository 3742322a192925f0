using System.Diagnostics;
using CustomerGrains.Testing;

namespace CustomerGrains.Runtime.Tests;

/// <summary>The built silo executable started as an operator would, with its configuration in environment variables.</summary>
public sealed class SiloExecutableTests
{
    [Fact]
    public async Task The_silo_exits_1_naming_postgres_when_it_is_unreachable_at_start()
    {
        var (exitCode, output) = await RunSiloAsync(new()
        {
            ["Database__ConnectionString"] = "Host=127.0.0.1;Port=1;Username=postgres;Database=nowhere;Timeout=2",
            ["Cluster__ClusterKey"] = TestCluster.ClusterKey,
            ["Silo__Port"] = "0",
        });

        Assert.Equal(1, exitCode);
        Assert.Contains("PostgreSQL is unreachable (Host=127.0.0.1;Port=1", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_configuration_is_reported_all_at_once_and_the_silo_exits_2()
    {
        var (exitCode, output) = await RunSiloAsync(new()
        {
            ["Database__ConnectionString"] = "",
            ["Cluster__ClusterKey"] = "short",
            ["Silo__Port"] = "99999",
            ["Grains__CallTimeout"] = "soon",
            ["Knowledge__EmbeddingModel"] = "nope",
            ["Inference__MaxBatch"] = "0",
        });

        Assert.Equal(2, exitCode);
        Assert.Contains("Knowledge:EmbeddingModel 'nope' is not among Inference:Models", output, StringComparison.Ordinal);
        Assert.Contains("Inference:MaxBatch and Inference:MaxTokensInFlight must be positive", output, StringComparison.Ordinal);
        Assert.Contains("Cluster:ClusterKey must be set", output, StringComparison.Ordinal);
        Assert.Contains("'soon' at 'Grains:CallTimeout'", output, StringComparison.Ordinal);
        Assert.Contains("Database:ConnectionString must be set", output, StringComparison.Ordinal);
        Assert.Contains("Silo:Port 99999 is not a TCP port", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SIGTERM_drains_leaves_the_cluster_and_exits_0()
    {
        await using var database = await TestDatabase.CreateAsync();
        using var process = Start(new()
        {
            ["Database__ConnectionString"] = database.ConnectionString,
            ["Cluster__ClusterKey"] = TestCluster.ClusterKey,
            ["Silo__Port"] = "0",
        });
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        process.OutputDataReceived += (_, e) => output.Enqueue(e.Data ?? "");
        process.ErrorDataReceived += (_, e) => output.Enqueue(e.Data ?? "");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        Assert.True(await Eventually.TrueAsync(() => output.Any(line => line.Contains("joined cluster", StringComparison.Ordinal)), TimeSpan.FromSeconds(60)), string.Join('\n', output));

        using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        Assert.Equal(0, process.ExitCode);
        Assert.Contains(output, line => line.Contains("left cluster", StringComparison.Ordinal));
        Assert.Equal("Dead", await database.ScalarAsync<string>("SELECT status FROM cluster_silos"));
    }

    private static Process Start(Dictionary<string, string> environment)
    {
        var silo = SiloPath();
        var start = new ProcessStartInfo("dotnet", [silo, "--contentRoot", Path.GetDirectoryName(silo)!])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        return Process.Start(start)!;
    }

    private static async Task<(int ExitCode, string Output)> RunSiloAsync(Dictionary<string, string> environment)
    {
        using var process = Start(environment);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output + await error);
    }

    /// <summary>The silo built in the same configuration as this test assembly (test.sh builds the solution first).</summary>
    private static string SiloPath()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "CustomerGrains.sln")))
        {
            directory = directory.Parent;
        }

        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        var path = Path.Combine(directory?.FullName ?? ".", "Silo", "bin", configuration, "net10.0", "CustomerGrains.Silo.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"Build the solution first: {path} is missing.");
    }
}
