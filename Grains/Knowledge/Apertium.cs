using System.Buffers.Binary;
using System.Text;

namespace CustomerGrains.Grains.Knowledge;

/// <summary>
/// A transducer compiled by lttoolbox (Apertium's lexical toolbox: the .bin files of a language pair, as Debian's
/// apertium-rus-ukr ships them), read whole, and the pairs of strings it maps: an analyser's surface forms and their
/// analyses, a bilingual dictionary's lemmas and their translations. Written here because no .NET library reads
/// lttoolbox's format. The format (lttoolbox 3.5 and later; compression.cc, alphabet.cc, transducer.cc): an optional
/// "LTTB" header with 64 bits of features, the letters, the tags, the symbol pairs (an input and an output symbol: a
/// code point, a tag as a negative number, 0 for none), then named sections, each a transducer: an optional "LTTD"
/// header (whose features say whether weights follow), the initial state, the final states as deltas, and per state
/// its transitions (symbol pair as a delta from the previous one, target as a delta from the state). Integers are
/// lttoolbox's variable-length ones: the top two bits of the first byte give how many bytes follow.
/// </summary>
public sealed class LttoolboxTransducer
{
    private const ulong TransducerWeights = 1;

    private readonly string[] tags;
    private readonly (int Input, int Output)[] symbols;

    private LttoolboxTransducer(string[] tags, (int, int)[] symbols, Dictionary<string, Section> sections)
    {
        this.tags = tags;
        this.symbols = symbols;
        Sections = sections;
    }

    /// <summary>The transducer's sections by name ("main@standard", "final@inconditional").</summary>
    public IReadOnlyDictionary<string, Section> Sections { get; }

    /// <summary>One section: per state, its transitions as (symbol pair, target state).</summary>
    public sealed record Section(int Initial, HashSet<int> Finals, (int Symbol, int Target)[][] Transitions);

    public static LttoolboxTransducer Read(string path)
    {
        var reader = new Reader(File.ReadAllBytes(path), path);
        if (reader.Header("LTTB") is { } features && features != 0)
        {
            // Bit 0 is the memory-mapped layout lttoolbox 3.7 can write with lt-comp --mmap; the others are unknown.
            throw new InvalidDataException($"{path}: lttoolbox features {features} are not read here (a memory-mapped or newer binary); compile it without --mmap.");
        }

        for (var letters = reader.Integer(); letters > 0; letters--)
        {
            reader.Integer();
        }

        var tags = new string[reader.Integer()];
        for (var i = 0; i < tags.Length; i++)
        {
            tags[i] = reader.String();
        }

        // Symbols are written biased by the number of tags, so that tags (negative) stay non-negative.
        var symbols = new (int, int)[reader.Integer()];
        for (var i = 0; i < symbols.Length; i++)
        {
            symbols[i] = (reader.Integer() - tags.Length, reader.Integer() - tags.Length);
        }

        var sections = new Dictionary<string, Section>(StringComparer.Ordinal);
        for (var count = reader.Integer(); count > 0; count--)
        {
            var name = reader.String();
            var weights = ((reader.Header("LTTD") ?? 0) & TransducerWeights) != 0;
            var initial = reader.Integer();
            var finals = new HashSet<int>();
            for (int remaining = reader.Integer(), state = 0; remaining > 0; remaining--)
            {
                finals.Add(state += reader.Integer());
                if (weights)
                {
                    reader.Weight();
                }
            }

            var states = reader.Integer();
            var transitions = new (int, int)[states][];
            for (var state = 0; state < states; state++)
            {
                var local = transitions[state] = new (int, int)[reader.Integer()];
                for (int i = 0, symbol = 0; i < local.Length; i++)
                {
                    symbol += reader.Integer();
                    var target = (state + reader.Integer()) % states;
                    if ((uint)symbol >= (uint)symbols.Length || (uint)target >= (uint)states)
                    {
                        throw new InvalidDataException($"{path}: section {name}, state {state}: a transition to symbol {symbol} or state {target}, out of range.");
                    }

                    local[i] = (symbol, target);
                    if (weights)
                    {
                        reader.Weight();
                    }
                }
            }

            sections[name] = new Section(initial, finals, transitions);
        }

        return new LttoolboxTransducer(tags, symbols, sections);
    }

    /// <summary>
    /// Every (input, output) the section maps, tags written "&lt;n&gt;": a walk of all paths from the initial state to a
    /// final one that enters no state twice (a dictionary's paths never do; the loops of a section for numbers or
    /// punctuation are walked once), at most <paramref name="maxLength"/> symbols long.
    /// </summary>
    public IEnumerable<(string Input, string Output)> Paths(Section section, int maxLength = 64)
    {
        var input = new StringBuilder();
        var output = new StringBuilder();
        var onPath = new bool[section.Transitions.Length];
        // Per depth: the state, the next transition to take, and the lengths of the strings before entering it.
        var stack = new List<(int State, int Next, int InputLength, int OutputLength)> { (section.Initial, 0, 0, 0) };
        onPath[section.Initial] = true;
        if (section.Finals.Contains(section.Initial))
        {
            yield return ("", "");
        }

        while (stack.Count > 0)
        {
            var (state, next, _, _) = stack[^1];
            var transitions = section.Transitions[state];
            if (next == transitions.Length || stack.Count > maxLength)
            {
                var (left, _, inputLength, outputLength) = stack[^1];
                stack.RemoveAt(stack.Count - 1);
                onPath[left] = false;
                input.Length = inputLength;
                output.Length = outputLength;
                continue;
            }

            stack[^1] = (state, next + 1, stack[^1].InputLength, stack[^1].OutputLength);
            var (symbol, target) = transitions[next];
            if (onPath[target])
            {
                continue;
            }

            var (before, after) = (input.Length, output.Length);
            Append(input, symbols[symbol].Input);
            Append(output, symbols[symbol].Output);
            stack.Add((target, 0, before, after));
            onPath[target] = true;
            if (section.Finals.Contains(target))
            {
                yield return (input.ToString(), output.ToString());
            }
        }
    }

    private void Append(StringBuilder text, int symbol)
    {
        if (symbol > 0)
        {
            text.Append(char.ConvertFromUtf32(symbol));
        }
        else if (symbol < 0)
        {
            text.Append('<').Append(tags[-symbol - 1]).Append('>');
        }
    }

    private sealed class Reader(byte[] bytes, string path)
    {
        private int position;

        /// <summary>The features after a four-letter header, or null (and nothing read) where the header is not there.</summary>
        public ulong? Header(string magic)
        {
            if (bytes.Length - position < 12 || Encoding.ASCII.GetString(bytes, position, 4) != magic)
            {
                return null;
            }

            var features = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(position + 4));
            position += 12;
            return features;
        }

        public int Integer()
        {
            var first = Byte();
            var value = first & 0x3f;
            for (var more = first >> 6; more > 0; more--)
            {
                value = (value << 8) | Byte();
            }

            return value;
        }

        public string String()
        {
            var text = new StringBuilder();
            for (var length = Integer(); length > 0; length--)
            {
                text.Append(char.ConvertFromUtf32(Integer()));
            }

            return text.ToString();
        }

        /// <summary>Skips a weight: a mantissa and an exponent, each an integer or, past 26 bits, two.</summary>
        public void Weight()
        {
            for (var part = 0; part < 2; part++)
            {
                if (Integer() >= 0x04000000)
                {
                    Integer();
                }
            }
        }

        private int Byte() => position < bytes.Length
            ? bytes[position++]
            : throw new InvalidDataException($"{path}: ends in the middle of a transducer (at byte {position}).");
    }
}

/// <summary>
/// Ukrainian word forms and their Russian translations from Apertium's Russian-Ukrainian pair (Debian's
/// apertium-rus-ukr: /usr/share/apertium/apertium-rus-ukr), through <see cref="LttoolboxTransducer"/>: the Ukrainian
/// analyser (ukr-rus.automorf.bin: 136,000 forms of 9,800 nouns, proper nouns, verbs, adjectives and adverbs with their
/// lemmas, and 700 function words) and the Ukrainian-Russian dictionary (ukr-rus.autobil.bin: 11,000 lemma pairs).
/// Multiword and compound analyses are left out.
/// </summary>
public static class ApertiumUkrainianRussian
{
    public const string Analyser = "ukr-rus.automorf.bin";
    public const string Bilingual = "ukr-rus.autobil.bin";

    private static readonly string[] ContentWords = ["<n>", "<np>", "<vblex>", "<vbmod>", "<adj>", "<adv>"];

    /// <summary>Prepositions, pronouns, determiners, conjunctions, particles, "бути", predicatives ("можна"),
    /// interjections, and interrogative and negative adverbs ("як", "де", "не").</summary>
    private static readonly string[] FunctionTags =
        ["<pr>", "<prn>", "<det>", "<cnjcoo>", "<cnjsub>", "<cnjadv>", "<part>", "<vbser>", "<pred>", "<ij>", "<adv><itg>", "<adv><neg>"];

    /// <summary>Each surface form of a content word and its lemma, lower case, then each function word with an empty
    /// lemma: the forms every analysis of which is a function word's ("як", "чи", "мій", "для", "є"), Ukrainian's stop
    /// words, which PostgreSQL's Russian configuration does not drop as it drops Russian ones. One walk of the analyser.</summary>
    public static IEnumerable<(string Form, string Lemma)> Words(string folder)
    {
        var analyser = LttoolboxTransducer.Read(Path.Combine(folder, Analyser));
        var seen = new HashSet<(string, string)>();
        var function = new Dictionary<string, bool>(StringComparer.Ordinal); // form: no analysis but a function word's
        foreach (var section in analyser.Sections.Where(s => s.Key.EndsWith("@standard", StringComparison.Ordinal)))
        {
            foreach (var (surface, analysis) in analyser.Paths(section.Value))
            {
                var form = surface.ToLowerInvariant();
                var tag = analysis.IndexOf('<');
                var isFunction = tag > 0 && FunctionTags.Any(t => analysis.AsSpan(tag).StartsWith(t, StringComparison.Ordinal));
                function[form] = isFunction && function.GetValueOrDefault(form, true);
                if (Lemma(analysis) is { } lemma && IsWord(form) && seen.Add((form, lemma)))
                {
                    yield return (form, lemma);
                }
            }
        }

        foreach (var (form, _) in function.Where(f => f.Value && IsWord(f.Key)))
        {
            yield return (form, "");
        }
    }

    /// <summary>Each surface form of a content word and its lemma (<see cref="Words"/>).</summary>
    public static IEnumerable<(string Form, string Lemma)> Forms(string folder) => Words(folder).Where(w => w.Lemma.Length > 0);

    /// <summary>Each Ukrainian word form (the lemma's own included) and the Russian lemmas its lemma translates to.</summary>
    public static IEnumerable<(string Ukrainian, string Russian)> Translations(string folder)
    {
        var dictionary = LttoolboxTransducer.Read(Path.Combine(folder, Bilingual));
        var russian = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var section in dictionary.Sections.Values)
        {
            foreach (var (source, target) in dictionary.Paths(section))
            {
                if (Lemma(source) is { } ukrainian && Lemma(target) is { } translation)
                {
                    (russian.TryGetValue(ukrainian, out var set) ? set : russian[ukrainian] = []).Add(translation);
                }
            }
        }

        var seen = new HashSet<(string, string)>();
        var forms = File.Exists(Path.Combine(folder, Analyser)) ? Forms(folder) : []; // without the analyser: the lemmas alone
        foreach (var (form, lemma) in forms.Concat(russian.Keys.Select(lemma => (lemma, lemma))))
        {
            if (russian.TryGetValue(lemma, out var translations))
            {
                foreach (var translation in translations.Where(t => seen.Add((form, t))))
                {
                    yield return (form, translation);
                }
            }
        }
    }

    /// <summary>The lemma of an analysis "lemma&lt;pos&gt;&lt;...&gt;" of a content word, lower case, without a homonym's
    /// number ("изменить¹"); null for other words, multiword and compound analyses.</summary>
    internal static string? Lemma(string analysis)
    {
        var tag = analysis.IndexOf('<');
        if (tag <= 0 || analysis.Contains('+') || analysis.Contains('#') || !ContentWords.Any(t => analysis.AsSpan(tag).StartsWith(t, StringComparison.Ordinal))
            || FunctionTags.Any(t => analysis.AsSpan(tag).StartsWith(t, StringComparison.Ordinal)))
        {
            return null;
        }

        var lemma = analysis[..tag].TrimEnd('¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹').ToLowerInvariant();
        return IsWord(lemma) ? lemma : null;
    }

    private static bool IsWord(string text) => text.Length > 1 && text.All(c => char.IsLetter(c) || c is '-' or '\'' or 'ʼ');
}
