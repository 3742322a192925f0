using System.IO.Compression;
using System.Text;
using CustomerGrains.Grains.Knowledge;

namespace CustomerGrains.Grains.Tests;

/// <summary>Reading Mueller's English-Russian dictionary in dictd's layout (articles as mueller7-dict has them).</summary>
public sealed class MuellerDictionaryTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"cg-mueller-{Guid.NewGuid():N}.dict.dz");

    [Fact]
    public void An_articles_first_senses_give_single_Russian_words_without_examples_glosses_or_labelled_senses()
    {
        var body = """
               [↗kænsɜl]
               1. _n.
                  1) зачёркивание
                  2) отмена, аннулирование
                  3) _полигр. вычёркивание (в гранках)
               2. _v. отменять (заказ и т. п.); to cancel a debt списать долг
            """;

        Assert.Equal(["зачёркивание", "отмена", "отменять", "аннулирование"], MuellerDictionary.Translations(body));
    }

    [Fact]
    public void Every_senses_first_word_comes_before_any_senses_second_so_later_homonyms_are_kept()
    {
        var body = """
               _I  [bɪl]
                  1. _n.
                     1) клюв, нос
                     2) узкий мыс
                  2. _v. нежничать, ласкаться
               _II [bɪl]
                  1. _n.
                     1) законопроект, билль; to pass (to throw out) the bill принять
                     (отклонить) законопроект
                     2) счёт; padded bills раздутые счета; to give smb. up for lost считать кого-л. погибшим
                     3) _ам. банкнот; a five dollar bill билет в пять долларов
            """;

        Assert.Equal(["клюв", "нежничать", "законопроект", "счёт", "нос", "ласкаться", "билль"], MuellerDictionary.Translations(body));
    }

    [Fact]
    public void Headwords_of_one_word_are_read_and_a_spelling_or_an_inflected_form_that_refers_to_another_takes_its_translations()
    {
        Write("""
            00-database-short
                 Mueller English-Russian Dictionary
            connection
               [kɜ↗nɛkʃɜn] = connexion
            connexion
               [kɜ↗nɛkʃɜn] _n.
               1) связь, соединение
               2) _тех. муфта
            password
               [↗pɑ:swɜ:d] _n. пароль; пропуск
            lose
               [lʊ:z] _v. (lost)
               1) терять, лишаться; to lose courage растеряться
               2) проигрывать
            lost
               [lɘst]
               1. _p. и _p-p. от lose
               2. _a. потерянный; lost effort напрасное усилие
            children
               [↗tʃɪldrɜn] _pl. от child
            a priori
               _лат. _adv. априори
            """);

        var pairs = MuellerDictionary.Read(_path).ToLookup(p => p.English, p => p.Russian);

        Assert.Equal(["пароль", "пропуск"], pairs["password"]);
        Assert.Equal(["связь", "соединение"], pairs["connexion"]);
        Assert.Equal(["связь", "соединение"], pairs["connection"]);
        Assert.Empty(pairs["a priori"]);
        Assert.Equal(["терять", "проигрывать", "лишаться", "потерянный"], pairs["lost"]);
        Assert.Empty(pairs["children"]); // its headword is not in this dictionary
    }

    private void Write(string text)
    {
        using var file = new GZipStream(File.Create(_path), CompressionLevel.Fastest);
        file.Write(Encoding.UTF8.GetBytes(text.Replace("\r", "", StringComparison.Ordinal) + "\n"));
    }

    public void Dispose() => File.Delete(_path);
}

/// <summary>Reading MyThes thesauri in the layouts Debian's mythes-en-us (WordNet), mythes-ru and mythes-uk have.</summary>
public sealed class MyThesThesaurusTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"cg-mythes-{Guid.NewGuid():N}.dat");

    [Fact]
    public void Synonyms_are_read_without_antonyms_related_or_generic_terms_and_labelled_items()
    {
        File.WriteAllText(_path, """
            UTF-8
            refund|3
            (noun)|payment (generic term)
            (noun)|repayment|payment (generic term)|defrayal (generic term)
            (verb)|return|repay|give back|pay (generic term)
            купить|3
            (синоним)|приобрести|закупить
            (сходный термин)|брать
            (антоним)|продать
            абиякий|1
            |який-небудь|будь-який|(дещо зневажливо) сякий-такий
            абетка|1
            |(див.) азбука
            """);

        var pairs = MyThesThesaurus.Read(_path).ToLookup(p => p.Word, p => p.Synonym);

        Assert.Equal(["repayment", "return", "repay"], pairs["refund"]);
        Assert.Equal(["приобрести", "закупить"], pairs["купить"]);
        Assert.Equal(["який-небудь", "будь-який"], pairs["абиякий"]);
        Assert.Equal(["азбука"], pairs["абетка"]);
    }

    public void Dispose() => File.Delete(_path);
}

/// <summary>Reading transducers compiled by lttoolbox (Apertium's .bin files), written here byte by byte in its layout.</summary>
public sealed class LttoolboxTransducerTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("cg-apertium-").FullName;

    [Fact]
    public void Every_path_of_every_section_is_read_with_its_tags_and_a_loop_is_walked_once()
    {
        var path = Path.Combine(_folder, "analyser.bin");
        File.WriteAllBytes(path, Compile(
            ("main@standard", false, [("кіт", "кіт<n><m><sg><nom>"), ("кота", "кіт<n><m><sg><gen>"), ("йти", "йти<vblex><impf><inf>")]),
            ("final@inconditional", true, [("1", "1<num>")]),
            loop: "final@inconditional"));

        var transducer = LttoolboxTransducer.Read(path);

        Assert.Equal(["final@inconditional", "main@standard"], transducer.Sections.Keys.Order());
        Assert.Equal(
            [("йти", "йти<vblex><impf><inf>"), ("кіт", "кіт<n><m><sg><nom>"), ("кота", "кіт<n><m><sg><gen>")],
            transducer.Paths(transducer.Sections["main@standard"]).Order());
        Assert.Equal([("1", "1<num>")], transducer.Paths(transducer.Sections["final@inconditional"])); // 1, 11, 111... once
    }

    [Fact]
    public void Ukrainian_forms_take_their_lemmas_function_words_stand_apart_and_each_form_takes_the_Russian_translations_of_its_lemma()
    {
        File.WriteAllBytes(Path.Combine(_folder, ApertiumUkrainianRussian.Analyser), Compile(
            ("main@standard", false,
            [
                ("договір", "договір<n><m><sg><nom>"), ("договору", "договір<n><m><sg><gen>"), ("скасувати", "скасувати<vblex><perf><inf>"),
                ("як", "як<cnjadv>"), ("як", "як<adv><itg>"), ("для", "для<pr>"), ("коли", "коли<adv>"), ("коли", "коли<cnjsub>"),
                ("брати", "брати# участь<vblex><inf>"),
            ])));
        File.WriteAllBytes(Path.Combine(_folder, ApertiumUkrainianRussian.Bilingual), Compile(
            ("main@standard", false,
            [
                ("договір<n><m>", "договор<n><m>"), ("скасувати<vblex><perf>", "отменить¹<vblex><perf>"),
                ("скасувати<vblex><perf>", "упразднить<vblex><perf>"), ("як<cnjadv>", "как<cnjadv>"),
            ])));

        Assert.Equal([("договір", "договір"), ("договору", "договір"), ("коли", "коли"), ("скасувати", "скасувати")],
            ApertiumUkrainianRussian.Forms(_folder).Order());
        Assert.Equal(["для", "як"], ApertiumUkrainianRussian.Words(_folder).Where(w => w.Lemma.Length == 0).Select(w => w.Form).Order()); // коли is also an adverb
        Assert.Equal([("договір", "договор"), ("договору", "договор"), ("скасувати", "отменить"), ("скасувати", "упразднить")],
            ApertiumUkrainianRussian.Translations(_folder).Order());
    }

    [Fact]
    public void A_file_that_ends_in_the_middle_is_refused_naming_it()
    {
        var path = Path.Combine(_folder, "cut.bin");
        File.WriteAllBytes(path, Compile(("main@standard", false, [("кіт", "кіт<n>")]))[..^3]);

        var error = Assert.Throws<InvalidDataException>(() => LttoolboxTransducer.Read(path));

        Assert.Contains(path, error.Message);
    }

    /// <summary>lttoolbox's binary layout for the sections given, each path a chain of states from state 0; with
    /// <paramref name="loop"/>, that section's final states also loop on their last symbol (as a number pattern does).</summary>
    private static byte[] Compile((string Name, bool Weighted, (string Input, string Output)[] Paths) first,
        (string Name, bool Weighted, (string Input, string Output)[] Paths)? second = null, string? loop = null)
    {
        var sections = second is { } s ? new[] { first, s } : [first];
        var tags = new List<string>();
        var pairs = new List<(int, int)> { (0, 0) };
        int[] Symbols(string text)
        {
            var result = new List<int>();
            for (var i = 0; i < text.Length; i++)
            {
                if (text[i] == '<')
                {
                    var end = text.IndexOf('>', i);
                    var tag = text[(i + 1)..end];
                    if (!tags.Contains(tag))
                    {
                        tags.Add(tag);
                    }

                    result.Add(-(tags.IndexOf(tag) + 1));
                    i = end;
                }
                else
                {
                    result.Add(text[i]);
                }
            }

            return [.. result];
        }

        int Pair(int input, int output)
        {
            if (!pairs.Contains((input, output)))
            {
                pairs.Add((input, output));
            }

            return pairs.IndexOf((input, output));
        }

        // Each section's states: transitions (pair, target) per state, and its final states.
        var compiled = sections.Select(section =>
        {
            var states = new List<List<(int Pair, int Target)>> { new() };
            var finals = new List<int>();
            foreach (var (input, output) in section.Paths)
            {
                var (inSymbols, outSymbols) = (Symbols(input), Symbols(output));
                var state = 0;
                for (var i = 0; i < Math.Max(inSymbols.Length, outSymbols.Length); i++)
                {
                    states.Add([]);
                    var pair = Pair(i < inSymbols.Length ? inSymbols[i] : 0, i < outSymbols.Length ? outSymbols[i] : 0);
                    states[state].Add((pair, states.Count - 1));
                    state = states.Count - 1;
                }

                finals.Add(state);
                if (loop == section.Name)
                {
                    states[state].Add((Pair(inSymbols[^1], inSymbols[^1]), state));
                }
            }

            return (section, states, finals);
        }).ToList();

        var bytes = new List<byte>();
        void Integer(int value)
        {
            if (value < 0x40) { bytes.Add((byte)value); }
            else if (value < 0x4000) { bytes.Add((byte)(0x40 | (value >> 8))); bytes.Add((byte)value); }
            else { bytes.Add((byte)(0x80 | (value >> 16))); bytes.Add((byte)(value >> 8)); bytes.Add((byte)value); }
        }

        void Text(string text)
        {
            Integer(text.Length);
            foreach (var c in text)
            {
                Integer(c);
            }
        }

        void Header(string magic, ulong features)
        {
            bytes.AddRange(Encoding.ASCII.GetBytes(magic));
            bytes.AddRange(BitConverter.GetBytes(features));
        }

        Header("LTTB", 0);
        Integer(0); // letters
        Integer(tags.Count);
        tags.ForEach(Text);
        Integer(pairs.Count);
        foreach (var (input, output) in pairs)
        {
            Integer(input + tags.Count);
            Integer(output + tags.Count);
        }

        Integer(compiled.Count);
        foreach (var (section, states, finals) in compiled)
        {
            Text(section.Name);
            Header("LTTD", section.Weighted ? 1UL : 0UL);
            Integer(0); // initial state
            Integer(finals.Count);
            var previous = 0;
            foreach (var final in finals.Order())
            {
                Integer(final - previous);
                previous = final;
                if (section.Weighted)
                {
                    Integer(0); // mantissa
                    Integer(0); // exponent
                }
            }

            Integer(states.Count);
            for (var state = 0; state < states.Count; state++)
            {
                Integer(states[state].Count);
                var symbol = 0;
                foreach (var (pair, target) in states[state].OrderBy(t => t.Pair))
                {
                    Integer(pair - symbol);
                    symbol = pair;
                    Integer(target >= state ? target - state : target + states.Count - state);
                    if (section.Weighted)
                    {
                        Integer(0);
                        Integer(0);
                    }
                }
            }
        }

        return [.. bytes];
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}

/// <summary>Reading verbs' families (aspects, action nouns) from Hunspell's Russian and Ukrainian dictionaries in
/// hunspell-ru's and hunspell-uk's layouts.</summary>
public sealed class VerbFamiliesTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("cg-hunspell-").FullName;

    private string Dictionary => Path.Combine(_folder, "ru_RU.dic");

    // hunspell-ru's own gerund rules: R makes perfective gerunds (отменив), P imperfective ones (отменяя); B, L are
    // other rules that every verb has.
    private const string Affixes = """
        SET UTF-8
        TRY иаоентрвсйлпкыьямдушзбгчщюжцхфэъ

        SFX P Y 5
        SFX P   ить  а            [жшщч]ить
        SFX P   ить  я            [^жшщч]ить
        SFX P   ться ясь          [ае]ться
        SFX P   ть   я            [ае]ть
        SFX P   ть   я            [^аеоу]ять

        SFX R Y 2
        SFX R   ться вшись        [аеиояуы]ться
        SFX R   ть   в            [аеиояуы]ть

        SFX B Y 1
        SFX B   ть   л            ть
        """;

    [Fact]
    public void A_verbs_aspects_and_its_action_noun_that_the_dictionary_has_are_one_family()
    {
        File.WriteAllText(Path.Combine(_folder, "ru_RU.aff"), Affixes);
        File.WriteAllText(Dictionary, """
            22
            отменить/BLRW
            отменять/BLPU
            оплатить/BLRW
            оплачивать/BLMP
            заказать/LRY
            заказывать/BLMP
            потерять/BLRU
            терять/BLPU
            сказать/BR
            проверить/BR
            проверять/BPR
            подключение/I
            подключить/BLRW
            подключать/BLMP
            доставка/I
            доставить/LRTW
            доставать/BLP
            поставить/BR
            наставить/BR
            ставить/BP
            Москва/I
            оплата
            """);

        var pairs = VerbFamilies.Read(Dictionary, VerbFamilyRules.Russian).Order().ToList();

        Assert.Equal(
            [
                ("доставить", "доставка"), ("заказать", "заказывать"), ("наставить", "ставить"), ("оплатить", "оплачивать"),
                ("отменить", "отменять"), ("подключать", "подключение"), ("подключать", "подключить"), ("подключение", "подключить"),
                ("поставить", "ставить"), ("потерять", "терять"),
            ],
            pairs);
        // сказать has no imperfective here (казать is none); проверять has both gerunds' flags: no aspect partner;
        // доставка is of доставить (-ить before -ать); поставить and наставить share ставить but are no family.
    }

    [Fact]
    public void Ukrainian_verbs_are_told_apart_by_their_present_gerunds_whose_rules_apply_to_them()
    {
        // hunspell-uk's rules: X makes every verb's past gerund (скасувавши); t and P present ones (скасовуючи), each for
        // the verbs its condition matches; L's present gerund is of -тати verbs only, which підключити is not.
        File.WriteAllText(Path.Combine(_folder, "uk_UA.aff"), """
            SET UTF-8

            SFX X Y 1
            SFX X   ти         вши        [аеиіїоуя]ти

            SFX L Y 1
            SFX L   тати       чи         [^с]тати

            SFX t Y 2
            SFX t   ти         ючи        [ую]вати
            SFX t   ти         ючи        увати

            SFX P Y 1
            SFX P   ти         ючи        [аіуя]ти
            """);
        var dictionary = Path.Combine(_folder, "uk_UA.dic");
        File.WriteAllText(dictionary, """
            9
            скасувати/XN
            скасовувати/Xyt'
            скасування/QS
            підключити/XLN
            підключати/YyP
            підключення/QS
            оплатити/XLN
            оплачувати/Xyt'
            Київ/I
            """);

        var pairs = VerbFamilies.Read(dictionary, VerbFamilyRules.Ukrainian).Order().ToList();

        Assert.Equal(
            [
                ("оплатити", "оплачувати"), ("підключати", "підключення"), ("підключати", "підключити"), ("підключення", "підключити"),
                ("скасовувати", "скасування"), ("скасовувати", "скасувати"), ("скасування", "скасувати"),
            ],
            pairs);
    }

    [Fact]
    public void A_dictionary_without_gerund_rules_or_with_other_flags_is_refused_naming_its_affix_file()
    {
        File.WriteAllText(Dictionary, "1\nотменить/BR\n");
        File.WriteAllText(Path.Combine(_folder, "ru_RU.aff"), "SET UTF-8\nSFX B Y 1\nSFX B   ть   л            ть\n");
        Assert.Contains("ru_RU.aff", Assert.Throws<InvalidDataException>(() => VerbFamilies.Read(Dictionary, VerbFamilyRules.Russian).ToList()).Message);

        File.WriteAllText(Path.Combine(_folder, "ru_RU.aff"), "SET UTF-8\nFLAG long\n" + Affixes);
        Assert.Contains("long", Assert.Throws<InvalidDataException>(() => VerbFamilies.Read(Dictionary, VerbFamilyRules.Russian).ToList()).Message);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
