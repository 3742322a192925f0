using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace CustomerGrains.Testing;

/// <summary>
/// The built silo executable (Silo/bin/&lt;configuration&gt;/net10.0) run as an operator runs it, configured through
/// environment variables: for what only a real process shows, a kill -9 that leaves failure detection to the others'
/// probes, a SIGTERM, an exit code.
/// </summary>
public sealed class SiloProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private SiloProcess(Process process, int publicPort, int orleansPort)
    {
        _process = process;
        PublicUrl = new Uri($"http://127.0.0.1:{publicPort}");
        OrleansPort = orleansPort;
        process.OutputDataReceived += (_, e) => _output.Enqueue(e.Data ?? "");
        process.ErrorDataReceived += (_, e) => _output.Enqueue(e.Data ?? "");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public Uri PublicUrl { get; }

    /// <summary>Its silo-to-silo port: the Port of its rows in the membership table.</summary>
    public int OrleansPort { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>What the process printed so far.</summary>
    public string Output => string.Join('\n', _output);

    public HttpClient CreateClient() => new() { BaseAddress = PublicUrl };

    /// <summary>Activations of a grain class per silo of the cluster (by Orleans port), from the Orleans dashboard's
    /// counters on this silo, which come from Orleans' own grain statistics (an operator key opens it).</summary>
    public async Task<IReadOnlyDictionary<int, int>> ActivationsAsync(string grainClass)
    {
        using var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", GatewayTestOptions.Operator);
        var counters = await System.Net.Http.Json.HttpClientJsonExtensions.GetFromJsonAsync<System.Text.Json.JsonElement>(client, "/dashboard/DashboardCounters");
        return counters.GetProperty("simpleGrainStats").EnumerateArray()
            .Where(s => s.GetProperty("grainType").GetString()!.EndsWith("." + grainClass, StringComparison.Ordinal))
            .GroupBy(s => int.Parse(s.GetProperty("siloAddress").GetString()!.Split('@')[0].Split(':')[^1], CultureInfo.InvariantCulture))
            .ToDictionary(g => g.Key, g => g.Sum(s => s.GetProperty("activationCount").GetInt32()));
    }

    /// <summary>Starts a silo of the test cluster on <paramref name="database"/> with the test membership timings (see
    /// <see cref="TestCluster.Defaults"/>) and waits until /health/ready answers.</summary>
    public static async Task<SiloProcess> StartAsync(TestDatabase database, IReadOnlyDictionary<string, string?>? configuration = null)
    {
        var (port, orleansPort) = (TestCluster.FreePort(), TestCluster.FreePort());
        var environment = TestCluster.Defaults(database.ConnectionString, orleansPort);
        environment["Silo:Port"] = port.ToString(CultureInfo.InvariantCulture);
        environment["Logging:LogLevel:Default"] = "Warning";
        foreach (var (key, value) in configuration ?? new Dictionary<string, string?>())
        {
            environment[key] = value;
        }

        var silo = new SiloProcess(Start(environment), port, orleansPort);
        using var client = silo.CreateClient();
        var ready = await Eventually.TrueAsync(async () =>
        {
            if (silo.HasExited)
            {
                return true;
            }

            try
            {
                return (await client.GetAsync("/health/ready")).IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(200));
        if (!ready || silo.HasExited)
        {
            await silo.DisposeAsync();
            throw new InvalidOperationException($"The silo did not become ready:\n{silo.Output}");
        }

        return silo;
    }

    /// <summary>Runs the silo with <paramref name="environment"/> until it exits by itself (a start that fails).</summary>
    public static async Task<(int ExitCode, string Output)> RunToExitAsync(IReadOnlyDictionary<string, string?> environment)
    {
        using var process = Start(environment);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output + await error);
    }

    /// <summary>SIGKILL: the process ends at once; it writes nothing, tells nobody.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM, as an orchestrator stops a silo; returns once the process has exited, or throws after
    /// <paramref name="within"/>.</summary>
    public async Task<int> TerminateAsync(TimeSpan within)
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        using var timeout = new CancellationTokenSource(within);
        await _process.WaitForExitAsync(timeout.Token);
        return _process.ExitCode;
    }

    private static Process Start(IReadOnlyDictionary<string, string?> environment)
    {
        var silo = SiloPath();
        var start = new ProcessStartInfo("dotnet", [silo, "--contentRoot", Path.GetDirectoryName(silo)!])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        foreach (var (name, value) in environment)
        {
            start.Environment[name.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        return Process.Start(start)!;
    }

    /// <summary>The silo built in the same configuration as the running tests (test.sh builds the solution first).</summary>
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

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
