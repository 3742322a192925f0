using System.Buffers;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using CustomerGrains.Runtime.Activation;

namespace CustomerGrains.Runtime.Calls;

/// <summary>
/// The silo-to-silo call format: <c>POST /_cluster/call</c> over HTTP/2 with the cluster key in a header and the
/// call as one JSON object, <c>{"type":"counter","key":"k","method":"ICounterGrain.AddAsync/1","view":7,
/// "forwarded":false,"args":[41]}</c>, with <c>args</c> after <c>type</c> and <c>method</c> (they give the argument
/// types). The result is JSON (204 when there is none); errors are Problem Details. 421 and 503 mean "not run
/// here": the caller may retry elsewhere. Everything but the key travels in the body because HPACK sends custom
/// request headers as literals on every request, which cost more than the JSON.
/// </summary>
internal static class ClusterProtocol
{
    public const string CallPath = "/_cluster/call";
    public const string EchoPath = "/_cluster/echo";
    public const string ClusterKeyHeader = "x-cluster-key";
    public const string ExceptionTypeExtension = "exceptionType";
    private static readonly JsonEncodedText TypeProperty = JsonEncodedText.Encode("type");
    private static readonly JsonEncodedText KeyProperty = JsonEncodedText.Encode("key");
    private static readonly JsonEncodedText MethodProperty = JsonEncodedText.Encode("method");
    private static readonly JsonEncodedText ViewProperty = JsonEncodedText.Encode("view");
    private static readonly JsonEncodedText ForwardedProperty = JsonEncodedText.Encode("forwarded");
    private static readonly JsonEncodedText ArgsProperty = JsonEncodedText.Encode("args");

    /// <summary>Constant-time comparison, so the key cannot be guessed a character at a time from response times.</summary>
    public static bool KeyMatches(string? presented, string expected) =>
        presented is not null
        && CryptographicOperations.FixedTimeEquals(MemoryMarshal.AsBytes(presented.AsSpan()), MemoryMarshal.AsBytes(expected.AsSpan()));

    public static ReadOnlyMemory<byte> WriteCall(GrainId grainId, GrainMethod method, object?[] arguments, long viewVersion, bool forwarded)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString(TypeProperty, grainId.Type);
            writer.WriteString(KeyProperty, grainId.Key);
            writer.WriteString(MethodProperty, method.WireName);
            writer.WriteNumber(ViewProperty, viewVersion);
            if (forwarded)
            {
                writer.WriteBoolean(ForwardedProperty, true);
            }

            writer.WriteStartArray(ArgsProperty);
            for (var i = 0; i < arguments.Length; i++)
            {
                JsonSerializer.Serialize(writer, arguments[i], method.ParameterTypes[i], GrainJson.Options);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return buffer.WrittenMemory;
    }

    /// <summary>Reads a call; throws <see cref="CallFormatException"/> saying what is wrong with it.</summary>
    public static IncomingCall ReadCall(ReadOnlySequence<byte> body, GrainTypeRegistry registry)
    {
        var reader = new Utf8JsonReader(body);
        string? type = null, key = null;
        GrainMethod? method = null;
        object?[]? arguments = null;
        long view = 0;
        var forwarded = false;
        try
        {
            Expect(reader.Read() && reader.TokenType == JsonTokenType.StartObject, "The body must be a JSON object describing the call.");
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals(TypeProperty.EncodedUtf8Bytes))
                {
                    reader.Read();
                    type = reader.GetString();
                }
                else if (reader.ValueTextEquals(KeyProperty.EncodedUtf8Bytes))
                {
                    reader.Read();
                    key = reader.GetString();
                }
                else if (reader.ValueTextEquals(MethodProperty.EncodedUtf8Bytes))
                {
                    reader.Read();
                    var name = reader.GetString();
                    Expect(type is not null, "The property type must come before method.");
                    if (!registry.TryGetByTypeName(type!, out var grainClass))
                    {
                        throw new CallFormatException(404, "Unknown grain type", $"This silo hosts no grain type '{type}'.");
                    }

                    method = name is not null && grainClass.MethodsByWireName.TryGetValue(name, out var found)
                        ? found
                        : throw new CallFormatException(404, "Unknown grain method", $"Grain type '{type}' has no method '{name}'.");
                }
                else if (reader.ValueTextEquals(ViewProperty.EncodedUtf8Bytes))
                {
                    reader.Read();
                    view = reader.GetInt64();
                }
                else if (reader.ValueTextEquals(ForwardedProperty.EncodedUtf8Bytes))
                {
                    reader.Read();
                    forwarded = reader.GetBoolean();
                }
                else if (reader.ValueTextEquals(ArgsProperty.EncodedUtf8Bytes))
                {
                    Expect(method is not null, "The property args must come after type and method, which give the argument types.");
                    arguments = ReadArguments(ref reader, method!);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }
        catch (JsonException ex)
        {
            throw new CallFormatException(400, "Malformed grain call", ex.Message);
        }
        catch (InvalidOperationException ex)
        {
            throw new CallFormatException(400, "Malformed grain call", ex.Message);
        }

        Expect(!string.IsNullOrEmpty(type) && !string.IsNullOrEmpty(key) && method is not null && arguments is not null,
            "A grain call needs the properties type, key, method and args.");
        return new IncomingCall(new GrainId(type!, key!), method!, arguments!, view, forwarded);
    }

    private static object?[] ReadArguments(ref Utf8JsonReader reader, GrainMethod method)
    {
        var types = method.ParameterTypes;
        Expect(reader.Read() && reader.TokenType == JsonTokenType.StartArray, "The property args must be a JSON array of the method's arguments.");
        var arguments = types.Length == 0 ? [] : new object?[types.Length];
        for (var i = 0; i < types.Length; i++)
        {
            Expect(reader.Read() && reader.TokenType != JsonTokenType.EndArray, $"{method.WireName} takes {types.Length} argument(s); the call has {i}.");
            try
            {
                arguments[i] = JsonSerializer.Deserialize(ref reader, types[i], GrainJson.Options);
            }
            catch (JsonException ex)
            {
                throw new CallFormatException(400, "Malformed grain call arguments", $"Argument {i} of {method.WireName}: {ex.Message}");
            }
        }

        Expect(reader.Read() && reader.TokenType == JsonTokenType.EndArray, $"{method.WireName} takes {types.Length} argument(s); the call has more.");
        return arguments;
    }

    private static void Expect(bool condition, string problem)
    {
        if (!condition)
        {
            throw new CallFormatException(400, "Malformed grain call", problem);
        }
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

/// <summary>A call read from another silo.</summary>
internal sealed record IncomingCall(GrainId GrainId, GrainMethod Method, object?[] Arguments, long ViewVersion, bool Forwarded);

/// <summary>A call body that cannot be run, with the status and problem to answer.</summary>
internal sealed class CallFormatException(int status, string title, string detail) : Exception(detail)
{
    public int Status { get; } = status;

    public string Title { get; } = title;
}
