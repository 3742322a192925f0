using System.Text.RegularExpressions;

namespace CustomerGrains.Grains.Suggestions;

/// <summary>
/// Replaces personal data with placeholders before text reaches a model, and puts it back in what the model writes.
/// The same value gets the same placeholder everywhere in one conversation. Masked (README, "Personal data"):
/// <list type="bullet">
/// <item>the customer's own name from their profile, whole and each part of it ([NAME_1]), and a name someone
/// introduces ("my name is", "меня зовут", "мене звати");</item>
/// <item>emails ([EMAIL_1]); IBANs in any letter case that pass the mod-97 check ([IBAN_1]); card numbers of 13 to 19
/// digits, grouped by spaces, dashes or dots, that pass the Luhn check ([CARD_1]); Russian 20-digit bank accounts
/// ([ACCOUNT_1]) and passport numbers, series and number ([PASSPORT_1]);</item>
/// <item>phone numbers: international (+), in separated groups, or bare national numbers (0 and 10 or 11 digits; 8 or 7
/// and 11 digits; 380 and 12 digits) ([PHONE_1]);</item>
/// <item>street addresses: a house number with a street in English ("5 Baker St", "12 Main Street") or a street with
/// its house number in Russian and Ukrainian ("ул. Ленина, д. 5", "вул. Хрещатик, 22") ([ADDRESS_1]).</item>
/// </list>
/// Not masked: other people's names nobody introduced, cities and postcodes without a street, dates of birth, and
/// order, invoice and ticket numbers (a model needs those to answer).
/// Every pattern is linear in the text's length (bounded repetitions, or the non-backtracking engine).
/// </summary>
public sealed partial class PiiMasker
{
    private readonly Dictionary<string, string> _placeholders = new(StringComparer.Ordinal); // value -> placeholder
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);       // placeholder -> value
    private readonly Dictionary<string, int> _counts = new(StringComparer.Ordinal);
    private readonly Regex? _names;

    /// <param name="knownNames">Names to mask wherever they stand as written (the customer's, from their profile); each
    /// part of three letters or more is masked too, so "Ann" goes as well as "Ann Lee".</param>
    public PiiMasker(params IEnumerable<string?> knownNames)
    {
        var parts = knownNames.Where(n => !string.IsNullOrWhiteSpace(n))
            .SelectMany(n => new[] { n!.Trim() }.Concat(n!.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
            .Where(p => p.Length >= 3 && p.Any(char.IsLetter))
            .Distinct(StringComparer.Ordinal)
            .OrderByDescending(p => p.Length) // the whole name before its parts
            .ToList();
        if (parts.Count > 0)
        {
            // As written in the profile (case and all): "Mark" is a name, "mark" a word. Literal alternatives: linear.
            _names = new Regex($@"(?<!\p{{L}})(?:{string.Join('|', parts.Select(Regex.Escape))})(?!\p{{L}})", RegexOptions.CultureInvariant);
        }
    }

    /// <summary>Every placeholder handed out, with the value it stands for.</summary>
    public IReadOnlyDictionary<string, string> Values => _values;

    public string Mask(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "";
        }

        text = Email().Replace(text, m => Placeholder("EMAIL", m.Value));
        text = Iban().Replace(text, m => IbanChecks(m.Value) ? Placeholder("IBAN", m.Value) : m.Value);
        text = Passport().Replace(text, m => m.Value[..(m.Groups["number"].Index - m.Index)] + Placeholder("PASSPORT", m.Groups["number"].Value));
        text = Account().Replace(text, m => Placeholder("ACCOUNT", m.Value));
        text = Card().Replace(text, m => Luhn(m.Value) ? Placeholder("CARD", m.Value) : m.Value);
        text = Phone().Replace(text, m => LooksLikePhone(m.Value) ? Placeholder("PHONE", m.Value) : m.Value);
        text = BarePhone().Replace(text, m => Placeholder("PHONE", m.Value));
        text = EnglishAddress().Replace(text, m => Placeholder("ADDRESS", m.Value));
        text = SlavicAddress().Replace(text, m => Placeholder("ADDRESS", m.Value));
        text = Introduced().Replace(text, m => m.Value[..(m.Groups["name"].Index - m.Index)] + Placeholder("NAME", m.Groups["name"].Value));
        return _names is null ? text : _names.Replace(text, m => Placeholder("NAME", m.Value));
    }

    /// <summary>Puts the values back where the model kept their placeholders.</summary>
    public string Restore(string text) =>
        PlaceholderPattern().Replace(text, m => _values.TryGetValue(m.Value, out var value) ? value : m.Value);

    private string Placeholder(string kind, string value)
    {
        var key = kind + "\0" + value;
        if (_placeholders.TryGetValue(key, out var existing))
        {
            return existing;
        }

        var placeholder = $"[{kind}_{_counts[kind] = _counts.GetValueOrDefault(kind) + 1}]";
        _placeholders[key] = placeholder;
        _values[placeholder] = value;
        return placeholder;
    }

    /// <summary>7 to 15 digits written like a phone number: international (+) or in separated groups. A bare run of
    /// digits is more likely an order or invoice number, which the model needs to see (bare national phone numbers
    /// are <see cref="BarePhone"/>).</summary>
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

    /// <summary>ISO 13616's check: the first four characters moved to the end, letters as 10 to 35, mod 97 is 1.
    /// It keeps words that look like an IBAN in lower case ("ab12 cdef ghij") from being masked.</summary>
    private static bool IbanChecks(string candidate)
    {
        var compact = string.Concat(candidate.Where(char.IsLetterOrDigit)).ToUpperInvariant();
        var remainder = 0;
        foreach (var c in compact[4..] + compact[..4])
        {
            var value = char.IsDigit(c) ? c - '0' : c - 'A' + 10;
            remainder = (value < 10 ? remainder * 10 + value : remainder * 100 + value) % 97;
        }

        return remainder == 1;
    }

    [GeneratedRegex(@"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}", RegexOptions.NonBacktracking)]
    private static partial Regex Email();

    [GeneratedRegex(@"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b", RegexOptions.IgnoreCase)]
    private static partial Regex Iban();

    // A Russian internal passport: series (two pairs of digits) and a six-digit number, after the word or "серия".
    [GeneratedRegex(@"(?:паспорт\w{0,3}|серия|серії|серія|passport)[\s:№#]{1,4}(?:серия\s{1,3})?(?<number>\d{2}\s?\d{2}\s?(?:№\s?|номер\s{1,3})?\d{6})(?!\d)", RegexOptions.IgnoreCase)]
    private static partial Regex Passport();

    // A Russian bank account: 20 digits (a balance account, currency code, check digit, branch and number).
    [GeneratedRegex(@"(?<!\d)\d{20}(?!\d)")]
    private static partial Regex Account();

    [GeneratedRegex(@"(?<!\d)(?:\d[ .-]?){12,18}\d(?!\d)")]
    private static partial Regex Card();

    [GeneratedRegex(@"(?<![\w\]])\+?\d[\d ().-]{5,20}\d(?!\w)")]
    private static partial Regex Phone();

    // Bare national numbers: 0 then 9 or 10 digits (Ukraine, the UK, Germany...), 8 or 7 then 10 (Russia), 380 then 9.
    [GeneratedRegex(@"(?<![\w\]])(?:0\d{9,10}|[78]\d{10}|380\d{9})(?!\w)")]
    private static partial Regex BarePhone();

    [GeneratedRegex(@"\b\d{1,5}[a-zA-Z]?(?:\s{1,3}[A-Z][\w'-]{1,30}){1,3}\s{1,3}(?:St|Street|Ave|Avenue|Rd|Road|Lane|Ln|Blvd|Boulevard|Dr|Drive|Way|Court|Ct|Place|Pl|Square|Sq|Terrace)\b\.?")]
    private static partial Regex EnglishAddress();

    [GeneratedRegex(@"(?<!\p{L})(?i:ул\.|улица|пр\.|проспект|пер\.|переулок|бул\.|бульвар|вул\.|вулиця|просп\.|пров\.|провулок)\s{0,3}(?:\p{Lu}[\p{L}'-]{1,30}\s{0,3}){1,3},?\s{0,3}(?:(?i:д\.|дом|буд\.|будинок)\s{0,3})?\d{1,5}\p{L}?(?:\s{0,3},?\s{0,3}(?i:кв\.|квартира)\s{0,3}\d{1,5})?")]
    private static partial Regex SlavicAddress();

    [GeneratedRegex(@"(?i:my name is|i am called|меня зовут|мене звати|моє ім'я|моё имя)\s{1,3}(?<name>\p{Lu}\p{L}{1,30}(?:\s{1,3}\p{Lu}\p{L}{1,30}){0,2})")]
    private static partial Regex Introduced();

    [GeneratedRegex(@"\[(?:EMAIL|IBAN|CARD|PHONE|NAME|ADDRESS|PASSPORT|ACCOUNT)_\d+\]")]
    private static partial Regex PlaceholderPattern();
}
