using System.Text.Json;

namespace CustomerGrains.Runtime.Activation;

/// <summary>The JSON settings for grain state, arguments and results: web defaults (camelCase, case-insensitive),
/// and public fields too, so that value tuples cross silos intact.</summary>
internal static class GrainJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web) { IncludeFields = true };
}
