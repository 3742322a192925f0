using System.Text.RegularExpressions;

namespace CustomerGrains.Grains.Suggestions;

/// <summary>
/// Replaces personal data with placeholders before text reaches a model, and puts it back in what the model
/// writes: emails ([EMAIL_1]), IBANs ([IBAN_1]), card numbers that pass the Luhn check ([CARD_1]) and phone numbers
/// ([PHONE_1]). The same value gets the same placeholder everywhere in one conversation.
/// </summary>
public sealed partial class PiiMasker
{
    private readonly Dictionary<string, string> _placeholders = new(StringComparer.Ordinal); // value -> placeholder
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);       // placeholder -> value
    private readonly Dictionary<string, int> _counts = new(StringComparer.Ordinal);

    /// <summary>Every placeholder handed out, with the value it stands for.</summary>
    public IReadOnlyDictionary<string, string> Values => _values;

    public string Mask(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "";
        }

        text = Email().Replace(text, m => Placeholder("EMAIL", m.Value));
        text = Iban().Replace(text, m => Placeholder("IBAN", m.Value));
        text = Card().Replace(text, m => Luhn(m.Value) ? Placeholder("CARD", m.Value) : m.Value);
        return Phone().Replace(text, m => LooksLikePhone(m.Value) ? Placeholder("PHONE", m.Value) : m.Value);
    }

    /// <summary>Puts the values back where the model kept their placeholders.</summary>
    public string Restore(string text) =>
        PlaceholderPattern().Replace(text, m => _values.TryGetValue(m.Value, out var value) ? value : m.Value);

    private string Placeholder(string kind, string value)
    {
        if (_placeholders.TryGetValue(value, out var existing))
        {
            return existing;
        }

        var placeholder = $"[{kind}_{_counts[kind] = _counts.GetValueOrDefault(kind) + 1}]";
        _placeholders[value] = placeholder;
        _values[placeholder] = value;
        return placeholder;
    }

    /// <summary>7 to 15 digits written like a phone number: international (+) or in separated groups. A bare run of
    /// digits is more likely an order or invoice number, which the model needs to see.</summary>
    private static bool LooksLikePhone(string candidate)
    {
        var digits = candidate.Count(char.IsDigit);
        return digits is >= 7 and <= 15 && (candidate.StartsWith('+') || candidate.Any(c => c is ' ' or '(' or ')' or '.' or '-'));
    }

    /// <summary>Card numbers end with a Luhn check digit; order numbers and the like mostly do not.</summary>
    private static bool Luhn(string candidate)
    {
        var digits = candidate.Where(char.IsDigit).Select(c => c - '0').ToArray();
        if (digits.Length is < 13 or > 19)
        {
            return false;
        }

        var sum = 0;
        for (var i = 0; i < digits.Length; i++)
        {
            var d = digits[digits.Length - 1 - i];
            sum += i % 2 == 1 ? (d * 2 > 9 ? d * 2 - 9 : d * 2) : d;
        }

        return sum % 10 == 0;
    }

    [GeneratedRegex(@"[\w.+-]+@[\w-]+(\.[\w-]+)+")]
    private static partial Regex Email();

    [GeneratedRegex(@"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b")]
    private static partial Regex Iban();

    [GeneratedRegex(@"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")]
    private static partial Regex Card();

    [GeneratedRegex(@"(?<![\w\]])\+?\d[\d ().-]{5,}\d(?!\w)")]
    private static partial Regex Phone();

    [GeneratedRegex(@"\[(?:EMAIL|IBAN|CARD|PHONE)_\d+\]")]
    private static partial Regex PlaceholderPattern();
}
