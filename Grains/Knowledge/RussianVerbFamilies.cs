using System.Buffers;

namespace CustomerGrains.Grains.Knowledge;

/// <summary>
/// Russian verbs' families, from Hunspell's Russian dictionary as Debian's hunspell-ru ships it
/// (/usr/share/hunspell/ru_RU.dic, UTF-8, with ru_RU.aff beside it): a verb's two aspects (отменить and отменять,
/// заказать and заказывать, потерять and терять) and its action noun (подключение and подключить, доставка and доставить,
/// списание and списать). A support question asks in the perfective ("Как отменить подписку?") or names the action
/// ("Подключение интернета") where an entry or Mueller's dictionary has another member (cancel: отменять), and the
/// Russian stemmer makes a stem of each (отмен, отменя, подключен, подключ); paired, they meet as one word.
/// <para>The dictionary tells a verb's aspect by its gerunds: its affix file's rules that make one in -в from -ть
/// (отменив) mark perfective verbs, those that make one in -я (отменяя) imperfective ones; a verb with both is no
/// aspect partner. A perfective is paired with the imperfectives Russian forms of it that the dictionary has as such:
/// -ить to -ять (-ать after ж, ш, ч, щ) or -лять, and to -ивать, -ать, -ять after the consonant alternations т/ч, д/ж,
/// д/жд, с/ш, з/ж, ст/щ, в/вл, б/бл, п/пл, м/мл, ф/фл (оплатить, оплачивать; подтвердить, подтверждать); -ать and
/// -ять to -ывать or -ивать; по-, с-, на- taken off (a pair only: поставить and наставить are no family for sharing
/// ставить). An action noun in -ение, -ание, -яние or -ка is paired with the first verb of the dictionary it is formed
/// from (-ение: -ить, the same alternations undone, then -еть; -ание: -ать; -яние: -ять; -ка: -ить, -ать, -ять, -овать,
/// -йка: -ить). A family is every word so paired with another, directly or through a third (подключение, подключить,
/// подключать): 8,951 pairs from hunspell-ru 7.5, families of at most six words. The rules read history, not meaning:
/// настроение (mood) is of настроить as настройка (settings) is.</para>
/// Written here because Hunspell's libraries (WeCantSpell.Hunspell for .NET) check, suggest and stem spellings but
/// relate no word to another, and what this needs of the files is their word list and the gerund rules' flags.
/// </summary>
public static class RussianVerbFamilies
{
    private static readonly (string Plain, string Alternated)[] Alternations =
        [("ст", "щ"), ("т", "ч"), ("д", "ж"), ("д", "жд"), ("с", "ш"), ("з", "ж"), ("в", "вл"), ("б", "бл"), ("п", "пл"), ("м", "мл"), ("ф", "фл")];

    private static readonly string[] Prefixes = ["по", "с", "на"];

    /// <summary>Every pair of words of one family of the dictionary at <paramref name="dictionaryPath"/>, each pair
    /// once (the first before the second in ordinal order).</summary>
    public static IEnumerable<(string Word, string Relative)> Read(string dictionaryPath)
    {
        var (perfectiveFlags, imperfectiveFlags) = GerundFlags(Path.ChangeExtension(dictionaryPath, ".aff"));
        var perfective = new List<string>();
        var imperfective = new HashSet<string>(StringComparer.Ordinal);
        var verbs = new HashSet<string>(StringComparer.Ordinal);
        var nouns = new List<string>();
        foreach (var line in File.ReadLines(dictionaryPath).Skip(1)) // the first line counts the words
        {
            var slash = line.IndexOf('/', StringComparison.Ordinal);
            var word = slash < 0 ? line : line[..slash];
            if (word.Length == 0 || char.IsUpper(word[0]))
            {
                continue;
            }

            if (!word.EndsWith("ть", StringComparison.Ordinal))
            {
                if (word.EndsWith("ние", StringComparison.Ordinal) || (word.EndsWith("ка", StringComparison.Ordinal) && word.Length > 5))
                {
                    nouns.Add(word);
                }

                continue;
            }

            verbs.Add(word);
            var flags = slash < 0 ? [] : line.AsSpan(slash + 1);
            var isPerfective = flags.IndexOfAny(perfectiveFlags) >= 0;
            var isImperfective = flags.IndexOfAny(imperfectiveFlags) >= 0;
            if (isPerfective && !isImperfective)
            {
                perfective.Add(word);
            }
            else if (isImperfective && !isPerfective)
            {
                imperfective.Add(word);
            }
        }

        var families = new Families();
        var prefixed = new List<(string, string)>();
        foreach (var verb in perfective)
        {
            foreach (var partner in Imperfectives(verb))
            {
                if (imperfective.Contains(partner))
                {
                    families.Join(verb, partner);
                }
            }

            foreach (var prefix in Prefixes)
            {
                if (verb.StartsWith(prefix, StringComparison.Ordinal) && verb.Length - prefix.Length >= 4 && imperfective.Contains(verb[prefix.Length..]))
                {
                    prefixed.Add((verb, verb[prefix.Length..])); // a pair, no family: поставить and наставить share ставить
                }
            }
        }

        foreach (var noun in nouns)
        {
            if (Verbs(noun).FirstOrDefault(verbs.Contains) is { } verb)
            {
                families.Join(noun, verb);
            }
        }

        return families.Pairs().Concat(prefixed).Distinct();
    }

    /// <summary>The imperfectives Russian forms of <paramref name="perfective"/> with a suffix; the dictionary tells which it has.</summary>
    internal static IEnumerable<string> Imperfectives(string perfective)
    {
        if (perfective.EndsWith("ить", StringComparison.Ordinal))
        {
            var stem = perfective[..^3];
            yield return stem + (stem[^1] is 'ж' or 'ш' or 'ч' or 'щ' ? "ать" : "ять"); // я is spelled а after these
            yield return stem + "лять";
            foreach (var (plain, alternated) in Alternations)
            {
                if (stem.EndsWith(plain, StringComparison.Ordinal))
                {
                    var changed = stem[..^plain.Length] + alternated;
                    yield return changed + "ивать";
                    yield return changed + "ать";
                    yield return changed + "ять";
                }
            }
        }
        else if (perfective.EndsWith("ать", StringComparison.Ordinal) || perfective.EndsWith("ять", StringComparison.Ordinal))
        {
            yield return perfective[..^3] + "ывать";
            yield return perfective[..^3] + "ивать";
        }
    }

    /// <summary>The verbs <paramref name="noun"/> may be the action noun of, the likeliest first.</summary>
    internal static IEnumerable<string> Verbs(string noun)
    {
        if (noun.EndsWith("ение", StringComparison.Ordinal))
        {
            var stem = noun[..^4];
            yield return stem + "ить";
            foreach (var (plain, alternated) in Alternations)
            {
                if (stem.EndsWith(alternated, StringComparison.Ordinal))
                {
                    yield return stem[..^alternated.Length] + plain + "ить";
                }
            }

            yield return stem + "еть";
        }
        else if (noun.EndsWith("ание", StringComparison.Ordinal))
        {
            yield return noun[..^4] + "ать";
        }
        else if (noun.EndsWith("яние", StringComparison.Ordinal))
        {
            yield return noun[..^4] + "ять";
        }
        else if (noun.EndsWith("ка", StringComparison.Ordinal))
        {
            var stem = noun[..^2];
            yield return stem + "ить";
            yield return stem + "ать";
            yield return stem + "ять";
            yield return stem + "овать";
            if (stem.EndsWith('й'))
            {
                yield return stem[..^1] + "ить";
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

    /// <summary>Words joined into families (union-find), each family's pairs listed at the end.</summary>
    private sealed class Families
    {
        private readonly Dictionary<string, string> _parent = new(StringComparer.Ordinal);

        public void Join(string a, string b)
        {
            var (rootA, rootB) = (Root(a), Root(b));
            if (rootA != rootB)
            {
                _parent[rootA] = rootB;
            }
        }

        private string Root(string word)
        {
            var root = word;
            while (_parent.TryGetValue(root, out var parent) && parent != root)
            {
                root = parent;
            }

            _parent.TryAdd(word, word);
            _parent[word] = root; // later lookups skip the chain
            return root;
        }

        public IEnumerable<(string Word, string Relative)> Pairs()
        {
            foreach (var family in _parent.Keys.ToList().GroupBy(Root))
            {
                var words = family.Order(StringComparer.Ordinal).ToList();
                for (var i = 0; i < words.Count; i++)
                {
                    for (var j = i + 1; j < words.Count; j++)
                    {
                        yield return (words[i], words[j]);
                    }
                }
            }
        }
    }
}
