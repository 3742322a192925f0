using System.Text.RegularExpressions;

namespace CustomerGrains.Grains.Suggestions;

/// <summary>
/// Makes a reply out of a retrieved answer when no model writes one: the answer as it stands, fitted to the customer.
/// A greeting by name in their language (formal, or by first name when they prefer a casual tone), the order they
/// mentioned, and a closing. Answers in the customer's language come first; others are marked with their language.
/// </summary>
public static partial class RetrievedReply
{
    /// <summary>The customer's language: their preference, their profile's, else guessed from their message's letters.</summary>
    public static string LanguageOf(string? preferred, string? profile, string message) =>
        (preferred ?? profile)?.ToLowerInvariant() ?? TextLanguage.Detect(message);

    /// <summary>The words (of three or more letters) of each reply the agents sent, for <see cref="AlreadySent"/>.</summary>
    public static IReadOnlyList<HashSet<string>> WordsOf(IEnumerable<string> sent) => [.. sent.Select(WordsOf)];

    /// <summary>Whether the agents already told the customer this: most of its words (80%, of three or more letters)
    /// are in one of the replies they sent (<paramref name="sent"/>: their words, from <see cref="WordsOf(IEnumerable{string})"/>).
    /// Such an answer is not offered again.</summary>
    public static bool AlreadySent(string answer, IReadOnlyList<HashSet<string>> sent)
    {
        if (sent.Count == 0)
        {
            return false;
        }

        var words = WordsOf(answer);
        return words.Count >= 3 && sent.Any(theirs => words.Count(theirs.Contains) >= 0.8 * words.Count);
    }

    private static HashSet<string> WordsOf(string text) =>
        [.. Word().Matches(text).Select(m => m.Value.ToLowerInvariant())];

    [GeneratedRegex(@"[\p{L}\p{N}]{3,}")]
    private static partial Regex Word();

    /// <summary>The answer, greeted and closed for this customer.</summary>
    public static string Fit(string answer, string? name, string language, string? tone, string message)
    {
        var casual = tone is not null && Casual().IsMatch(tone);
        var words = Words.For(language);
        var addressee = string.IsNullOrWhiteSpace(name) ? null : casual ? name.Trim().Split(' ')[0] : name.Trim();
        var greeting = addressee is null ? (casual ? words.CasualGreeting : words.Greeting) : $"{(casual ? words.CasualGreeting : words.Greeting)}, {addressee}";
        // The message's start is where customers name their order; the rest of a long one is not searched.
        var order = OrderNumber().Match(message.Length <= MessageSearched ? message : message[..MessageSearched]) is { Success: true } match ? string.Format(System.Globalization.CultureInfo.InvariantCulture, words.AboutOrder, match.Groups["number"].Value) + " " : "";
        return $"{greeting}!\n\n{order}{answer.Trim()}\n\n{(casual ? words.CasualClosing : words.Closing)}";
    }

    private sealed record Words(string Greeting, string CasualGreeting, string AboutOrder, string Closing, string CasualClosing)
    {
        public static Words For(string language) => language switch
        {
            "ru" => new("Здравствуйте", "Привет", "По вашему заказу {0}:", "Если остались вопросы, напишите нам, мы поможем.", "Если что-то ещё нужно, пиши!"),
            "uk" => new("Добрий день", "Привіт", "Щодо вашого замовлення {0}:", "Якщо залишилися питання, напишіть нам, ми допоможемо.", "Якщо ще щось потрібно, пиши!"),
            "de" => new("Guten Tag", "Hallo", "Zu Ihrer Bestellung {0}:", "Bei weiteren Fragen helfen wir Ihnen gern.", "Melde dich, wenn du noch etwas brauchst!"),
            _ => new("Hello", "Hi", "About your order {0}:", "If there is anything else, just reply to this message and we will help.", "Anything else, just let me know!"),
        };
    }

    private const int MessageSearched = 4_000;

    [GeneratedRegex(@"casual|informal|friendly|relaxed|неформал|дружн|неофіц", RegexOptions.IgnoreCase)]
    private static partial Regex Casual();

    /// <summary>An order number as customers write it: "order 1234", "order #1234", "заказ № 1234", "замовлення 1234",
    /// "Bestellung 1234", or "#1234" alone.</summary>
    [GeneratedRegex(@"(?:\b(?:order|заказ\w*|замовлен\w*|bestellung)\s*(?:no\.?|number|nr\.?|номер|№)?\s*#?|#)\s*(?<number>\d{3,12})\b", RegexOptions.IgnoreCase | RegexOptions.NonBacktracking)]
    private static partial Regex OrderNumber();
}
