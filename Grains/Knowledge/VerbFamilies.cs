using System.Text.RegularExpressions;

namespace CustomerGrains.Grains.Knowledge;

/// <summary>
/// Verbs' families, from a Hunspell dictionary as Debian ships it (hunspell-ru's /usr/share/hunspell/ru_RU.dic,
/// hunspell-uk's uk_UA.dic, UTF-8, each with its .aff beside it): a verb's two aspects (отменить and отменять, скасувати
/// and скасовувати) and its action noun (подключение and подключить, скасування and скасувати). A support question asks
/// in the perfective ("Как отменить подписку?") or names the action ("Подключение интернета") where an entry or Mueller's
/// dictionary has another member (cancel: отменять), and the Russian stemmer (Ukrainian words are stemmed as Russian
/// ones) makes a stem of each (отмен, отменя, подключен, подключ); paired, they meet as one word.
/// <para>The dictionary tells a verb's aspect by its gerunds: a verb whose affix rules make a present gerund (Russian
/// отменяя, Ukrainian скасовуючи) is imperfective; one whose rules make only a past gerund (отменив, скасувавши) is
/// perfective (Russian: a verb with both is left out). A perfective is paired with the imperfectives its language forms
/// of it (<see cref="VerbFamilyRules"/>) that the dictionary has as such; with the prefixes по-, с-, на- (Ukrainian по-,
/// з-, с-, на-) taken off, as a pair only (поставить and наставить are no family for sharing ставить). An action noun is
/// paired with the first verb of the dictionary it is formed from. A family is every word so paired with another,
/// directly or through a third (подключение, подключить, подключать). The rules read history, not meaning: настроение
/// (mood) is of настроить as настройка (settings) is.</para>
/// Written here because Hunspell's libraries (WeCantSpell.Hunspell for .NET) check, suggest and stem spellings but relate
/// no word to another, and what this needs of the files is their word list and the gerund rules.
/// </summary>
public static class VerbFamilies
{
    /// <summary>Every pair of words of one family of the dictionary at <paramref name="dictionaryPath"/>, each pair
    /// once (the first before the second in ordinal order).</summary>
    public static IEnumerable<(string Word, string Relative)> Read(string dictionaryPath, VerbFamilyRules rules)
    {
        var gerunds = GerundRules(Path.ChangeExtension(dictionaryPath, ".aff"), rules);
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

            if (!word.EndsWith(rules.Infinitive, StringComparison.Ordinal))
            {
                if (rules.Verbs(word).Any())
                {
                    nouns.Add(word);
                }

                continue;
            }

            verbs.Add(word);
            var flags = slash < 0 ? "" : line[(slash + 1)..];
            var (past, present) = (false, false);
            foreach (var rule in flags.SelectMany(flag => gerunds.GetValueOrDefault(flag, [])))
            {
                if (word.EndsWith(rule.Strip, StringComparison.Ordinal) && rule.Condition.IsMatch(word))
                {
                    (past, present) = (past || !rule.Present, present || rule.Present);
                }
            }

            if (present && !(past && rules.BothLeftOut))
            {
                imperfective.Add(word);
            }
            else if (past && !present)
            {
                perfective.Add(word);
            }
        }

        var families = new Families();
        var prefixed = new List<(string, string)>();
        foreach (var verb in perfective)
        {
            foreach (var partner in rules.Imperfectives(verb))
            {
                if (imperfective.Contains(partner))
                {
                    families.Join(verb, partner);
                }
            }

            foreach (var prefix in rules.Prefixes)
            {
                if (verb.StartsWith(prefix, StringComparison.Ordinal) && verb.Length - prefix.Length >= 4 && imperfective.Contains(verb[prefix.Length..]))
                {
                    prefixed.Add((verb, verb[prefix.Length..])); // a pair, no family: поставить and наставить share ставить
                }
            }
        }

        foreach (var noun in nouns)
        {
            if (rules.Verbs(noun).FirstOrDefault(verbs.Contains) is { } verb)
            {
                families.Join(noun, verb);
            }
        }

        return families.Pairs().Concat(prefixed).Distinct();
    }

    private sealed record GerundRule(string Strip, Regex Condition, bool Present);

    /// <summary>The affix rules that make gerunds, by flag: present (imperfective) or past ones.</summary>
    private static Dictionary<char, List<GerundRule>> GerundRules(string affixPath, VerbFamilyRules rules)
    {
        var gerunds = new Dictionary<char, List<GerundRule>>();
        foreach (var line in File.ReadLines(affixPath))
        {
            var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts is ["FLAG", var kind, ..])
            {
                throw new InvalidDataException($"{affixPath}: flags of type {kind} are not read here; hunspell-ru's and hunspell-uk's are single characters.");
            }

            // SFX flag strip add condition (a rule; its group's header has three fields after SFX).
            if (parts is ["SFX", [var flag], var strip, var add, var condition, ..] && rules.Gerund(add.Split('/')[0]) is { } present)
            {
                var pattern = condition == "." ? "" : Regex.Escape(condition).Replace(@"\[", "[", StringComparison.Ordinal).Replace(@"\^", "^", StringComparison.Ordinal).Replace(@"\.", ".", StringComparison.Ordinal);
                var list = gerunds.TryGetValue(flag, out var found) ? found : gerunds[flag] = [];
                list.Add(new GerundRule(strip == "0" ? "" : strip, new Regex(pattern + "$", RegexOptions.CultureInvariant), present));
            }
        }

        if (!gerunds.Values.SelectMany(r => r).Any(r => r.Present) || !gerunds.Values.SelectMany(r => r).Any(r => !r.Present))
        {
            throw new InvalidDataException($"{affixPath} has no rules that make gerunds of verbs: not a {rules.Language} Hunspell dictionary.");
        }

        return gerunds;
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

            _parent[word] = root; // a new word is its own root; later lookups skip the chain
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

/// <summary>How a language forms its verbs' aspects and action nouns, for <see cref="VerbFamilies"/>.</summary>
public abstract class VerbFamilyRules
{
    public static readonly VerbFamilyRules Russian = new RussianRules();

    public static readonly VerbFamilyRules Ukrainian = new UkrainianRules();

    /// <summary>The language's name, for errors.</summary>
    public abstract string Language { get; }

    /// <summary>How its infinitives end.</summary>
    public abstract string Infinitive { get; }

    /// <summary>Whether a verb with both a present and a past gerund is left out (Russian) or imperfective (Ukrainian,
    /// whose imperfectives have past gerunds too).</summary>
    public abstract bool BothLeftOut { get; }

    public abstract IReadOnlyList<string> Prefixes { get; }

    /// <summary>Whether an affix rule's result <paramref name="added"/> makes a present gerund (true), a past one
    /// (false) or neither (null).</summary>
    public abstract bool? Gerund(string added);

    /// <summary>The imperfectives the language forms of <paramref name="perfective"/> with a suffix; the dictionary tells
    /// which it has.</summary>
    public abstract IEnumerable<string> Imperfectives(string perfective);

    /// <summary>The verbs <paramref name="noun"/> may be the action noun of, the likeliest first; none for a word that
    /// is no action noun.</summary>
    public abstract IEnumerable<string> Verbs(string noun);

    /// <summary>Consonants that alternate before an imperfective's suffix (оплатить, оплачивать) and an action noun's
    /// (подтвердить, подтверждение).</summary>
    private protected abstract (string Plain, string Alternated)[] Alternations { get; }

    /// <summary>The verbs of <paramref name="stem"/> (a noun's, its suffix taken off) in -<paramref name="ending"/>,
    /// its consonant as it is first, then with each alternation undone.</summary>
    private protected IEnumerable<string> Unalternated(string stem, string ending)
    {
        yield return stem + ending;
        foreach (var (plain, alternated) in Alternations)
        {
            if (stem.EndsWith(alternated, StringComparison.Ordinal))
            {
                yield return stem[..^alternated.Length] + plain + ending;
            }
        }
    }

    /// <summary>Russian: -ить to -ять (-ать after ж, ш, ч, щ) or -лять, and to -ивать, -ать, -ять after the alternations
    /// т/ч, д/ж, д/жд, с/ш, з/ж, ст/щ, в/вл, б/бл, п/пл, м/мл, ф/фл (оплатить, оплачивать; подтвердить, подтверждать);
    /// -ать and -ять to -ывать or -ивать. Action nouns: -ение (-ить, alternations undone, then -еть), -ание (-ать),
    /// -яние (-ять), -ка (-ить, -ать, -ять, -овать; -йка: -ить).</summary>
    private sealed class RussianRules : VerbFamilyRules
    {
        public override string Language => "Russian";

        public override string Infinitive => "ть";

        public override bool BothLeftOut => true;

        public override IReadOnlyList<string> Prefixes { get; } = ["по", "с", "на"];

        private protected override (string Plain, string Alternated)[] Alternations { get; } =
            [("ст", "щ"), ("т", "ч"), ("д", "ж"), ("д", "жд"), ("с", "ш"), ("з", "ж"), ("в", "вл"), ("б", "бл"), ("п", "пл"), ("м", "мл"), ("ф", "фл")];

        public override bool? Gerund(string added) => added switch { "я" or "а" => true, "в" => false, _ => null };

        public override IEnumerable<string> Imperfectives(string perfective)
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

        public override IEnumerable<string> Verbs(string noun)
        {
            if (noun.EndsWith("ение", StringComparison.Ordinal))
            {
                foreach (var verb in Unalternated(noun[..^4], "ить"))
                {
                    yield return verb;
                }

                yield return noun[..^4] + "еть";
            }
            else if (noun.EndsWith("ание", StringComparison.Ordinal))
            {
                yield return noun[..^4] + "ать";
            }
            else if (noun.EndsWith("яние", StringComparison.Ordinal))
            {
                yield return noun[..^4] + "ять";
            }
            else if (noun.EndsWith("ка", StringComparison.Ordinal) && noun.Length > 5)
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
    }

    /// <summary>Ukrainian: -ити to -яти (-ати after ж, ш, ч, щ), -ляти or -ювати, and to -увати, -ати, -яти after the
    /// alternations т/ч, д/дж, с/ш, з/ж, ст/щ, в/вл, б/бл, п/пл, м/мл, ф/фл (оплатити, оплачувати; замовити, замовляти);
    /// -увати to -овувати (скасувати, скасовувати), -ати and -яти to -увати and -ювати (отримати, отримувати). Action
    /// nouns: -ення (-ити, alternations undone), -ання (-ати), -яння (-яти), -ка (-ити, -ати, -увати).</summary>
    private sealed class UkrainianRules : VerbFamilyRules
    {
        public override string Language => "Ukrainian";

        public override string Infinitive => "ти";

        public override bool BothLeftOut => false;

        public override IReadOnlyList<string> Prefixes { get; } = ["по", "з", "с", "на"];

        private protected override (string Plain, string Alternated)[] Alternations { get; } =
            [("ст", "щ"), ("т", "ч"), ("д", "дж"), ("с", "ш"), ("з", "ж"), ("в", "вл"), ("б", "бл"), ("п", "пл"), ("м", "мл"), ("ф", "фл")];

        public override bool? Gerund(string added) =>
            added.EndsWith("чи", StringComparison.Ordinal) ? true : added.EndsWith("вши", StringComparison.Ordinal) ? false : null;

        public override IEnumerable<string> Imperfectives(string perfective)
        {
            if (perfective.EndsWith("ити", StringComparison.Ordinal))
            {
                var stem = perfective[..^3];
                yield return stem + (stem[^1] is 'ж' or 'ш' or 'ч' or 'щ' ? "ати" : "яти");
                yield return stem + "ляти";
                yield return stem + "ювати";
                foreach (var (plain, alternated) in Alternations)
                {
                    if (stem.EndsWith(plain, StringComparison.Ordinal))
                    {
                        var changed = stem[..^plain.Length] + alternated;
                        yield return changed + "увати";
                        yield return changed + "ати";
                        yield return changed + "яти";
                    }
                }
            }
            else if (perfective.EndsWith("увати", StringComparison.Ordinal))
            {
                yield return perfective[..^5] + "овувати";
            }
            else if (perfective.EndsWith("ати", StringComparison.Ordinal) || perfective.EndsWith("яти", StringComparison.Ordinal))
            {
                yield return perfective[..^3] + "увати";
                yield return perfective[..^3] + "ювати";
            }
        }

        public override IEnumerable<string> Verbs(string noun)
        {
            if (noun.EndsWith("ення", StringComparison.Ordinal))
            {
                foreach (var verb in Unalternated(noun[..^4], "ити"))
                {
                    yield return verb;
                }
            }
            else if (noun.EndsWith("ання", StringComparison.Ordinal))
            {
                yield return noun[..^4] + "ати";
            }
            else if (noun.EndsWith("яння", StringComparison.Ordinal))
            {
                yield return noun[..^4] + "яти";
            }
            else if (noun.EndsWith("ка", StringComparison.Ordinal) && noun.Length > 5)
            {
                var stem = noun[..^2];
                yield return stem + "ити";
                yield return stem + "ати";
                yield return stem + "увати";
            }
        }
    }
}
