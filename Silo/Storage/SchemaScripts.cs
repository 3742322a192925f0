using System.Reflection;

namespace CustomerGrains.Silo.Storage;

/// <summary>
/// One module's SQL schema: embedded resources named <c>NNN_description.sql</c>, applied in order once each.
/// The silo registers each module's: Orleans' providers (Silo/Sql) and the grains' tables (Grains/Sql).
/// </summary>
public sealed record SchemaScripts(string Module, Assembly Assembly)
{
    internal IEnumerable<(int Version, string Name, string Sql)> Load()
    {
        foreach (var resource in Assembly.GetManifestResourceNames().Where(n => n.EndsWith(".sql", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            var fileName = resource[(resource.LastIndexOf('.', resource.Length - 5) + 1)..];
            var underscore = fileName.IndexOf('_', StringComparison.Ordinal);
            if (underscore <= 0 || !int.TryParse(fileName.AsSpan(0, underscore), out var version))
            {
                throw new InvalidOperationException($"Schema script '{resource}' in {Assembly.GetName().Name} must be named NNN_description.sql.");
            }

            using var stream = Assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            yield return (version, fileName, reader.ReadToEnd());
        }
    }
}
