using System.Globalization;
using System.Text.Json;

namespace CustomerGrains.Benchmarks;

/// <summary>A suite's figures, printed as one RESULT line and written as JSON; <paramref name="set"/> names the data
/// set they are of, where a suite measures several.</summary>
public sealed class BenchmarkResult(string suite, string? set = null)
{
    private readonly List<KeyValuePair<string, double>> _figures = [];

    public string Suite { get; } = suite;

    public string? Set { get; } = set;

    public BenchmarkResult Add(string key, double value)
    {
        _figures.Add(new(key, value));
        return this;
    }

    public double Get(string key) => _figures.First(f => f.Key == key).Value;

    public string ResultLine =>
        $"RESULT suite={Suite} " + (Set is null ? "" : $"set={Set} ") + string.Join(' ', _figures.Select(f => $"{f.Key}={Format(f.Value)}"));

    public void Write(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var document = new Dictionary<string, object>
        {
            ["suite"] = Suite,
            ["set"] = Set ?? "",
            ["measuredAt"] = DateTimeOffset.UtcNow,
            ["machine"] = $"{Environment.ProcessorCount} cores, {Environment.OSVersion}",
        };
        foreach (var (key, value) in _figures)
        {
            document[key] = value;
        }

        File.WriteAllText(path, JsonSerializer.Serialize(document, new JsonSerializerOptions { WriteIndented = true }));
    }

    private static string Format(double value) =>
        value >= 100 ? Math.Round(value).ToString(CultureInfo.InvariantCulture) : value.ToString("0.###", CultureInfo.InvariantCulture);
}
