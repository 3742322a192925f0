using System.Text.RegularExpressions;

namespace CustomerGrains.Grains;

/// <summary>Which language a text is in, told from its letters: enough to keep a reply in the customer's alphabet and
/// to know whether an encoder covers a query. Names and codes in another script do not tip it.</summary>
public static partial class TextLanguage
{
    /// <summary>en, ru, uk or de from the letters of <paramref name="text"/>: Cyrillic is Ukrainian when it has
    /// letters Russian lacks (і ї є ґ), or none that Ukrainian lacks (ы э ъ ё) and a word only Ukrainian has;
    /// Latin is German with umlauts or ß; English otherwise.</summary>
    public static string Detect(string text)
    {
        int cyrillic = 0, latin = 0;
        foreach (var c in text)
        {
            if (c is >= '\u0400' and <= '\u04FF')
            {
                cyrillic++;
            }
            else if (char.IsAsciiLetter(c) || c is >= '\u00C0' and <= '\u024F')
            {
                latin++;
            }
        }

        if (cyrillic > latin)
        {
            return CyrillicByLetters(text) ?? (UkrainianWord().IsMatch(text) ? "uk" : "ru");
        }

        return text.AsSpan().IndexOfAny("äöüßÄÖÜ") >= 0 ? "de" : "en";
    }

    /// <summary><see cref="Detect"/>'s language where it is certain: Russian or Ukrainian only where the letters tell
    /// which (ы, э, ъ, ё; і, ї, є, ґ), else null: many Ukrainian words are spelled with the letters Russian has too
    /// ("Скасування замовлення").</summary>
    public static string? Certain(string text)
    {
        var detected = Detect(text);
        return detected is "ru" or "uk" ? CyrillicByLetters(text) : detected;
    }

    private static string? CyrillicByLetters(string text) =>
        text.AsSpan().IndexOfAny("іїєґІЇЄҐ") >= 0 ? "uk" : text.AsSpan().IndexOfAny("ыэъёЫЭЪЁ") >= 0 ? "ru" : null;

    /// <summary>Whether <paramref name="text"/> is written in <paramref name="language"/>'s alphabet (its letters are
    /// mostly Cyrillic for ru and uk, mostly Latin otherwise); names and codes inside do not tip it.</summary>
    public static bool WrittenIn(string text, string language)
    {
        int cyrillic = 0, letters = 0;
        foreach (var c in text)
        {
            if (char.IsLetter(c))
            {
                letters++;
                cyrillic += c is >= '\u0400' and <= '\u04FF' ? 1 : 0;
            }
        }

        var cyrillicLanguage = language is "ru" or "uk" or "be" or "bg" or "sr" or "kk";
        return letters == 0 || (cyrillicLanguage ? cyrillic * 2 > letters : cyrillic * 5 < letters);
    }

    [GeneratedRegex(@"(?<!\p{L})(?:де|що|дякую|чи|та|але|вже|ще|як|коли|мене|мені|моє|будь)(?!\p{L})", RegexOptions.IgnoreCase)]
    private static partial Regex UkrainianWord();
}
