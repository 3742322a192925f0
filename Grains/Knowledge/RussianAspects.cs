using System.Buffers;

namespace CustomerGrains.Grains.Knowledge;

/// <summary>
/// Russian verbs' aspect pairs (отменить and отменять, заказать and заказывать, сделать and делать) from Hunspell's Russian
/// dictionary as Debian's hunspell-ru ships it (/usr/share/hunspell/ru_RU.dic, UTF-8, with ru_RU.aff beside it). A
/// support question asks in the perfective ("Как отменить подписку?") where Mueller's dictionary translates a verb in
/// the imperfective (cancel: отменять), and the Russian stemmer makes two stems of them (отмен, отменя); paired, they
/// meet as one word. The dictionary tells a verb's aspect by its gerunds: its affix file's rules that make one in -в from
/// -ть (отменив) mark perfective verbs, those that make one in -я (отменяя) imperfective ones; a verb with both is left
/// out. A pair is a perfective and the imperfective Russian forms of it, where the dictionary has that verb as an
/// imperfective one: -ить to -ять, -ать or -лять, and to -ивать, -ать, -ять after the consonant alternations т/ч, д/ж,
/// с/ш, з/ж, ст/щ, в/вл, б/бл, п/пл, м/мл, ф/фл (оплатить, оплачивать); -ать and -ять to -ывать or -ивать; по-, с-, на-
/// taken off (потерять, терять). Written here because Hunspell's libraries (WeCantSpell.Hunspell for .NET) check,
/// suggest and stem spellings but give no aspect partner, and what this needs of the files is their word list and the
/// gerund rules' flags.
/// </summary>
public static class RussianAspects
{
    private static readonly (string From, string To)[] Alternations =
        [("ст", "щ"), ("т", "ч"), ("д", "ж"), ("с", "ш"), ("з", "ж"), ("в", "вл"), ("б", "бл"), ("п", "пл"), ("м", "мл"), ("ф", "фл")];

    private static readonly string[] Prefixes = ["по", "с", "на"];

    /// <summary>Each perfective verb of the dictionary at <paramref name="dictionaryPath"/> with its imperfective partners.</summary>
    public static IEnumerable<(string Perfective, string Imperfective)> Read(string dictionaryPath)
    {
        var (perfectiveFlags, imperfectiveFlags) = GerundFlags(Path.ChangeExtension(dictionaryPath, ".aff"));
        var perfective = new List<string>();
        var imperfective = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines(dictionaryPath).Skip(1)) // the first line counts the words
        {
            var slash = line.IndexOf('/', StringComparison.Ordinal);
            if (slash <= 0 || !line.AsSpan(0, slash).EndsWith("ть", StringComparison.Ordinal) || char.IsUpper(line[0]))
            {
                continue;
            }

            var flags = line.AsSpan(slash + 1);
            var isPerfective = flags.IndexOfAny(perfectiveFlags) >= 0;
            var isImperfective = flags.IndexOfAny(imperfectiveFlags) >= 0;
            if (isPerfective && !isImperfective)
            {
                perfective.Add(line[..slash]);
            }
            else if (isImperfective && !isPerfective)
            {
                imperfective.Add(line[..slash]);
            }
        }

        foreach (var verb in perfective)
        {
            foreach (var partner in Imperfectives(verb).Distinct(StringComparer.Ordinal))
            {
                if (imperfective.Contains(partner))
                {
                    yield return (verb, partner);
                }
            }
        }
    }

    /// <summary>The imperfectives Russian may form of <paramref name="perfective"/>; the dictionary tells which it has.</summary>
    internal static IEnumerable<string> Imperfectives(string perfective)
    {
        if (perfective.EndsWith("ить", StringComparison.Ordinal))
        {
            var stem = perfective[..^3];
            yield return stem + "ять";
            yield return stem + "ать";
            yield return stem + "лять";
            foreach (var (from, to) in Alternations)
            {
                if (stem.EndsWith(from, StringComparison.Ordinal))
                {
                    var alternated = stem[..^from.Length] + to;
                    yield return alternated + "ивать";
                    yield return alternated + "ать";
                    yield return alternated + "ять";
                }
            }
        }
        else if (perfective.EndsWith("ать", StringComparison.Ordinal) || perfective.EndsWith("ять", StringComparison.Ordinal))
        {
            yield return perfective[..^3] + "ывать";
            yield return perfective[..^3] + "ивать";
        }

        foreach (var prefix in Prefixes)
        {
            if (perfective.StartsWith(prefix, StringComparison.Ordinal) && perfective.Length - prefix.Length >= 4)
            {
                yield return perfective[prefix.Length..];
            }
        }
    }

    /// <summary>The affix flags of perfective gerunds (-ть to -в) and of imperfective ones (-ть to -я).</summary>
    private static (SearchValues<char> Perfective, SearchValues<char> Imperfective) GerundFlags(string affixPath)
    {
        var perfective = new HashSet<char>();
        var imperfective = new HashSet<char>();
        foreach (var line in File.ReadLines(affixPath))
        {
            var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts is ["FLAG", var kind, ..])
            {
                throw new InvalidDataException($"{affixPath}: flags of type {kind} are not read here; hunspell-ru's are single characters.");
            }

            // SFX flag strip add condition (a rule; its group's header has three fields after SFX).
            if (parts is ["SFX", [var flag], "ть", var add, _, ..])
            {
                switch (add.Split('/')[0])
                {
                    case "в":
                        perfective.Add(flag);
                        break;
                    case "я":
                        imperfective.Add(flag);
                        break;
                }
            }
        }

        if (perfective.Count == 0 || imperfective.Count == 0)
        {
            throw new InvalidDataException($"{affixPath} has no rules that make gerunds of verbs in -ть: not a Russian Hunspell dictionary.");
        }

        return (SearchValues.Create([.. perfective]), SearchValues.Create([.. imperfective]));
    }
}
