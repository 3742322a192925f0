using System.Buffers;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using CustomerGrains.Runtime.Activation;

namespace CustomerGrains.Runtime.Calls;

/// <summary>
/// The silo-to-silo call format: <c>POST /_cluster/call</c> over HTTP/2, the grain and method in headers,
/// the arguments as a JSON array in the body; the result as JSON (204 for none), errors as Problem Details.
/// Status 421 and 503 mean "not run here": the caller may retry elsewhere.
/// </summary>
internal static class ClusterProtocol
{
    public const string CallPath = "/_cluster/call";
    public const string EchoPath = "/_cluster/echo";
    public const string ClusterKeyHeader = "x-cluster-key";
    public const string GrainTypeHeader = "x-grain-type";
    public const string GrainKeyHeader = "x-grain-key";
    public const string MethodHeader = "x-grain-method";
    public const string ForwardedHeader = "x-grain-forwarded";
    public const string ViewVersionHeader = "x-cluster-version";
    public const string ExceptionTypeExtension = "exceptionType";

    /// <summary>Constant-time comparison, so the key cannot be guessed a character at a time from response times.</summary>
    public static bool KeyMatches(string? presented, string expected) =>
        presented is not null
        && CryptographicOperations.FixedTimeEquals(MemoryMarshal.AsBytes(presented.AsSpan()), MemoryMarshal.AsBytes(expected.AsSpan()));

    public static ReadOnlyMemory<byte> WriteArguments(GrainMethod method, object?[] arguments)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            for (var i = 0; i < arguments.Length; i++)
            {
                JsonSerializer.Serialize(writer, arguments[i], method.ParameterTypes[i], GrainJson.Options);
            }

            writer.WriteEndArray();
        }

        return buffer.WrittenMemory;
    }

    /// <summary>Reads the argument array; throws <see cref="JsonException"/> saying what is wrong with it.</summary>
    public static object?[] ReadArguments(ReadOnlySequence<byte> body, GrainMethod method)
    {
        var types = method.ParameterTypes;
        var reader = new Utf8JsonReader(body);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException("The body must be a JSON array of the method's arguments.");
        }

        var arguments = types.Length == 0 ? [] : new object?[types.Length];
        for (var i = 0; i < types.Length; i++)
        {
            if (!reader.Read() || reader.TokenType == JsonTokenType.EndArray)
            {
                throw new JsonException($"{method.WireName} takes {types.Length} argument(s); the body has {i}.");
            }

            arguments[i] = JsonSerializer.Deserialize(ref reader, types[i], GrainJson.Options);
        }

        if (!reader.Read() || reader.TokenType != JsonTokenType.EndArray)
        {
            throw new JsonException($"{method.WireName} takes {types.Length} argument(s); the body has more.");
        }

        return arguments;
    }

    /// <summary>Recreates an exception thrown by a grain on another silo: common types as themselves, so code
    /// behaves the same wherever the grain lives; anything else as <see cref="GrainException"/>.</summary>
    public static Exception RecreateException(string? type, string message) => type switch
    {
        "System.ArgumentException" or "System.ArgumentNullException" or "System.ArgumentOutOfRangeException" => new ArgumentException(message),
        "System.InvalidOperationException" => new InvalidOperationException(message),
        "System.Collections.Generic.KeyNotFoundException" => new KeyNotFoundException(message),
        "System.NotSupportedException" => new NotSupportedException(message),
        "System.FormatException" => new FormatException(message),
        "System.UnauthorizedAccessException" => new UnauthorizedAccessException(message),
        "CustomerGrains.Runtime.InconsistentStateException" => new InconsistentStateException(message),
        "CustomerGrains.Runtime.StorageUnavailableException" => new StorageUnavailableException(message),
        "CustomerGrains.Runtime.SiloUnavailableException" => new SiloUnavailableException(message),
        "CustomerGrains.Runtime.GrainCallTimeoutException" => new GrainCallTimeoutException(message),
        "CustomerGrains.Runtime.UnknownGrainException" => new UnknownGrainException(message),
        _ => new GrainException(type ?? "unknown", message),
    };
}
