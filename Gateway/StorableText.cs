using System.Text.Json;
using System.Text.Json.Serialization;

namespace CustomerGrains.Gateway;

/// <summary>
/// Text as PostgreSQL can store it. JSON may carry "\u0000", which no text or jsonb column accepts: a CRM message
/// holding one would fail its write, and a CRM retrying it would never get through. The NUL is dropped where text
/// enters: webhook fields and API request bodies.
/// </summary>
internal static class StorableText
{
    public static string? Of(string? text) => text is not null && text.Contains('\0') ? text.Replace("\0", "", StringComparison.Ordinal) : text;

    /// <summary>Every string (and dictionary key) read from an API request body.</summary>
    public sealed class Converter : JsonConverter<string>
    {
        public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.String ? Of(reader.GetString())
            : throw new JsonException($"Expected a string, not {reader.TokenType}.");

        public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);

        public override string ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => Of(reader.GetString())!;

        public override void WriteAsPropertyName(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WritePropertyName(value);
    }
}
