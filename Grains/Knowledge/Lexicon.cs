using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace CustomerGrains.Grains.Knowledge;

/// <summary>
/// English-Russian word pairs from V. K. Mueller's English-Russian dictionary as Debian packages it for dictd
/// (mueller7-dict: /usr/share/dictd/mueller7.dict.dz, a gzip-compatible text of articles, each a headword at the start
/// of a line and its indented body). Written here because no .NET library reads dictd files; what it keeps is
/// deliberately narrow: single English headwords, and from each article the single Russian words of its senses (word
/// lists between sense numbers, commas and semicolons), leaving out examples (clauses with Latin letters),
/// parenthesised glosses, transcriptions and senses marked with a usage or domain label (_разг., _полигр.), which are
/// the rare ones. Each sense's first word comes before any sense's second: a headword's homonyms and parts of speech
/// ("bill": beak, then bill of costs) each get their main translations in.
/// </summary>
public static partial class MuellerDictionary
{
    /// <summary>Each headword's first <paramref name="perHeadword"/> translations. An article that refers to another
    /// spelling (connection: "= connexion") takes that one's; an inflected form (lost: "_p. и _p-p. от lose", children:
    /// "_pl. от child", better: "_comp. от good"), which the English stemmer does not bring to its headword, takes its
    /// headword's first, then its own.</summary>
    public static IEnumerable<(string English, string Russian)> Read(string path, int perHeadword = 12)
    {
        var translations = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var references = new Dictionary<string, string>(StringComparer.Ordinal);
        using (var stream = new GZipStream(File.OpenRead(path), CompressionMode.Decompress))
        using (var reader = new StreamReader(stream, Encoding.UTF8))
        {
            string? headword = null;
            var body = new StringBuilder();
            for (var line = reader.ReadLine(); ; line = reader.ReadLine())
            {
                if (line is null || (line.Length > 0 && !char.IsWhiteSpace(line[0])))
                {
                    if (headword is not null && HeadwordPattern().IsMatch(headword) && !translations.ContainsKey(headword))
                    {
                        var text = Transcription().Replace(body.ToString(), " ").Trim();
                        var reference = Reference().Match(text);
                        if (!reference.Success)
                        {
                            reference = Inflection().Match(text);
                        }

                        if (reference.Success && reference.Groups[1].Value != headword)
                        {
                            references[headword] = reference.Groups[1].Value;
                        }

                        translations[headword] = [.. Translations(text)];
                    }

                    if (line is null)
                    {
                        break;
                    }

                    headword = line.Trim().ToLowerInvariant();
                    body.Clear();
                }
                else
                {
                    body.Append(' ').Append(line);
                }
            }
        }

        foreach (var (headword, own) in translations)
        {
            var words = references.TryGetValue(headword, out var target) && translations.TryGetValue(target, out var referred)
                ? referred.Concat(own).Distinct(StringComparer.Ordinal)
                : own;
            foreach (var word in words.Take(perHeadword))
            {
                yield return (headword, word);
            }
        }
    }

    /// <summary>The single Russian words an article's body gives as translations, each once: the first word of every
    /// sense in order, then the second of every sense, and so on.</summary>
    internal static IEnumerable<string> Translations(string body)
    {
        var text = Transcription().Replace(body, " ");
        for (var previous = ""; previous != text;)
        {
            previous = text;
            text = Parenthesised().Replace(text, " "); // innermost first: glosses may nest
        }

        var senses = new List<List<string>>();
        foreach (var sense in SenseNumber().Split(text))
        {
            var words = new List<string>();
            var plain = PartOfSpeech().Replace(LabelledSense().Replace(sense, ";"), " "); // a sense marked _разг. up to its end
            foreach (var clause in plain.Split(';'))
            {
                if (LatinLetter().IsMatch(clause))
                {
                    continue; // an example: "to cancel a debt списать долг"
                }

                foreach (var segment in clause.Split([',', ':', '.', '!', '?'], StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                {
                    var word = segment.ToLowerInvariant();
                    if (RussianWord().IsMatch(word))
                    {
                        words.Add(word);
                    }
                }
            }

            senses.Add(words);
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var rank = 0; senses.Any(s => s.Count > rank); rank++)
        {
            foreach (var sense in senses)
            {
                if (sense.Count > rank && seen.Add(sense[rank]))
                {
                    yield return sense[rank];
                }
            }
        }
    }

    [GeneratedRegex(@"^[a-z]{2,}$")]
    private static partial Regex HeadwordPattern();

    [GeneratedRegex(@"\[[^\]]*\]")]
    private static partial Regex Transcription();

    [GeneratedRegex(@"^=\s*([a-z]+)$")]
    private static partial Regex Reference();

    [GeneratedRegex(@"_(?:p|p-p|pl|comp|superl)\.(?:\s+и\s+_(?:p|p-p)\.)?\s+от\s+([a-z]+)\b")]
    private static partial Regex Inflection();

    [GeneratedRegex(@"\([^()]*\)")]
    private static partial Regex Parenthesised();

    [GeneratedRegex(@"_[а-яё]+\.[^;]*")]
    private static partial Regex LabelledSense();

    /// <summary>A part of speech (_n., _v., _attr.) or a homonym's numeral (_I, _II).</summary>
    [GeneratedRegex(@"_(?:[a-z\-]+\.|[IVX]+\b)")]
    private static partial Regex PartOfSpeech();

    [GeneratedRegex(@"(?<![\w])(?:\d+[\.\)]|[а-я]\))")]
    private static partial Regex SenseNumber();

    [GeneratedRegex(@"[a-z]", RegexOptions.IgnoreCase)]
    private static partial Regex LatinLetter();

    [GeneratedRegex(@"^[а-яё]{3,}$")]
    private static partial Regex RussianWord();
}

/// <summary>
/// Synonyms from a MyThes thesaurus (LibreOffice's format, as Debian's mythes-en-us, mythes-ru and mythes-uk ship it:
/// th_*_v2.dat, UTF-8; each headword "word|n" followed by n meaning lines "(label)|synonym|..."). The English one is
/// WordNet's synsets. Kept: single-word synonyms of each headword (at most <c>perHeadword</c>), leaving out antonyms,
/// similar and related terms (lines labelled so), hypernyms (WordNet's "(generic term)") and items carrying a usage
/// label; Ukrainian "(див.) X" (see X) counts X. Written here because no .NET library reads MyThes files.
/// </summary>
public static class MyThesThesaurus
{
    private static readonly string[] SkippedLines = ["(антоним)", "(сходный термин)", "(связанный термин)", "(antonym)"];

    public static IEnumerable<(string Word, string Synonym)> Read(string path, int perHeadword = 8)
    {
        using var reader = new StreamReader(path, Encoding.UTF8);
        reader.ReadLine(); // the encoding's name
        for (var line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            var bar = line.LastIndexOf('|');
            if (bar <= 0 || !int.TryParse(line.AsSpan(bar + 1), out var meanings))
            {
                continue;
            }

            var word = line[..bar].ToLowerInvariant();
            var synonyms = new List<string>();
            for (var m = 0; m < meanings && reader.ReadLine() is { } meaning; m++)
            {
                var items = meaning.Split('|');
                if (SkippedLines.Contains(items[0].Trim()))
                {
                    continue;
                }

                foreach (var item in items.Skip(1))
                {
                    var synonym = item.Trim();
                    synonym = synonym.StartsWith("(див.)", StringComparison.Ordinal) ? synonym[6..].Trim() : synonym;
                    synonym = synonym.ToLowerInvariant();
                    if (synonym.Length > 2 && synonym != word && synonym.All(c => char.IsLetter(c) || c == '-') && !synonyms.Contains(synonym))
                    {
                        synonyms.Add(synonym);
                    }
                }
            }

            if (word.All(c => char.IsLetter(c) || c == '-'))
            {
                foreach (var synonym in synonyms.Take(perHeadword))
                {
                    yield return (word, synonym);
                }
            }
        }
    }
}

/// <summary>
/// Puts the language resources the matching reads into plain tables, once per database (a silo starting finds them
/// listed in kb_lexicon_sources and reads nothing), as pairs of stems (lexemes as PostgreSQL's text-search
/// configurations make them, so they meet the entries' search vectors): the English-Russian dictionary
/// (<see cref="KnowledgeOptions.EnglishRussianDictionary"/>) into kb_lexicon, each language's thesaurus
/// (<see cref="KnowledgeOptions.Thesauri"/>) into kb_synonyms, both ways, and Apertium's Russian-Ukrainian pair
/// (<see cref="KnowledgeOptions.UkrainianRussian"/>) into kb_forms (Ukrainian word forms), kb_function_words (its stop
/// words) and kb_lexicon_uk (their Russian translations), and Hunspell's Russian and Ukrainian verbs' families (aspects
/// and action nouns, <see cref="KnowledgeOptions.RussianHunspell"/>, <see cref="KnowledgeOptions.UkrainianHunspell"/>)
/// into kb_verb_families. Plain tables work on a managed PostgreSQL that installs no dictionary files. A file that is
/// not there is logged and left out: matching goes on without it.
/// </summary>
public sealed class LexiconLoading(NpgsqlDataSource database, IOptions<KnowledgeOptions> options, ILogger<LexiconLoading> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.EnglishRussianDictionary is { Length: > 0 } dictionary)
        {
            // Version 2: every sense's first word first, inflected forms; it replaces what version 1 loaded (kb_lexicon
            // has no other source).
            await LoadAsync(dictionary, "Knowledge:EnglishRussianDictionary", "mueller7-dict", () => MuellerDictionary.Read(dictionary), "kb_lexicon",
                """
                DELETE FROM kb_lexicon;
                INSERT INTO kb_lexicon (english, russian)
                SELECT DISTINCT e.lexeme, r.lexeme
                FROM lexicon_words w,
                     unnest(tsvector_to_array(to_tsvector('english', w.first))) e(lexeme),
                     unnest(tsvector_to_array(to_tsvector('russian', w.second))) r(lexeme)
                ON CONFLICT DO NOTHING
                """,
                cancellationToken, version: 2);
        }

        foreach (var (language, path) in options.Value.Thesauri.Where(t => t.Value is { Length: > 0 }))
        {
            // PostgreSQL has no Ukrainian stemmer; the entries' Ukrainian words are stemmed as Russian ones, so these are too.
            var configuration = language switch { "en" => "english", "ru" or "uk" => "russian", _ => "simple" };
            await LoadAsync(path, $"Knowledge:Thesauri:{language}", $"mythes-{language}", () => MyThesThesaurus.Read(path), "kb_synonyms",
                BothWays("kb_synonyms (lexeme, synonym)", configuration), cancellationToken);
        }

        if (options.Value.UkrainianRussian is { Length: > 0 } pair)
        {
            // Stemmed as Russian, as the entries' Ukrainian words are.
            // Forms with their lemmas, and function words with none.
            await LoadAsync(Path.Combine(pair, ApertiumUkrainianRussian.Analyser), "Knowledge:UkrainianRussian", "apertium-rus-ukr",
                () => ApertiumUkrainianRussian.Words(pair), "kb_forms, kb_function_words",
                """
                INSERT INTO kb_forms (lexeme, form)
                WITH stems AS (
                    SELECT DISTINCT w.second AS lemma, s.lexeme FROM lexicon_words w, unnest(tsvector_to_array(to_tsvector('russian', w.first))) s(lexeme)
                    WHERE w.second <> '')
                SELECT DISTINCT a.lexeme, b.lexeme FROM stems a JOIN stems b ON b.lemma = a.lemma AND b.lexeme <> a.lexeme
                ON CONFLICT DO NOTHING;
                INSERT INTO kb_function_words (word) SELECT DISTINCT first FROM lexicon_words WHERE second = '' ON CONFLICT DO NOTHING
                """,
                cancellationToken);
            await LoadAsync(Path.Combine(pair, ApertiumUkrainianRussian.Bilingual), "Knowledge:UkrainianRussian", "apertium-rus-ukr", () => ApertiumUkrainianRussian.Translations(pair), "kb_lexicon_uk",
                """
                INSERT INTO kb_lexicon_uk (ukrainian, russian)
                SELECT DISTINCT u.lexeme, r.lexeme
                FROM lexicon_words w,
                     unnest(tsvector_to_array(to_tsvector('russian', w.first))) u(lexeme),
                     unnest(tsvector_to_array(to_tsvector('russian', w.second))) r(lexeme)
                WHERE u.lexeme <> r.lexeme
                ON CONFLICT DO NOTHING
                """,
                cancellationToken);
        }

        // A verb's aspects and action noun, as the entries' words are stemmed (Ukrainian ones as Russian): each stem meets
        // the others as itself.
        foreach (var (hunspell, setting, package, rules, language) in new[]
                 {
                     (options.Value.RussianHunspell, "Knowledge:RussianHunspell", "hunspell-ru", VerbFamilyRules.Russian, "ru"),
                     (options.Value.UkrainianHunspell, "Knowledge:UkrainianHunspell", "hunspell-uk", VerbFamilyRules.Ukrainian, "uk"),
                 })
        {
            if (hunspell is not { Length: > 0 })
            {
                continue;
            }

            await LoadAsync(hunspell, setting, package, () => VerbFamilies.Read(hunspell, rules), "kb_verb_families",
                BothWays("kb_verb_families (language, lexeme, relative)", "russian", $"'{language}', "), cancellationToken);
        }
    }

    /// <summary>The insert of each pair's stems (by <paramref name="configuration"/>) into <paramref name="target"/>,
    /// both ways, after the <paramref name="constants"/> its other columns take: a word's synonym is a synonym of the
    /// word, a verb's relative related to the verb.</summary>
    private static string BothWays(string target, string configuration, string constants = "") =>
        $"""
        INSERT INTO {target}
        SELECT DISTINCT {constants}v.one, v.other
        FROM lexicon_words w,
             unnest(tsvector_to_array(to_tsvector('{configuration}', w.first))) a(lexeme),
             unnest(tsvector_to_array(to_tsvector('{configuration}', w.second))) b(lexeme),
             LATERAL (VALUES (a.lexeme, b.lexeme), (b.lexeme, a.lexeme)) v(one, other)
        WHERE a.lexeme <> b.lexeme
        ON CONFLICT DO NOTHING
        """;

    /// <summary>Loads <paramref name="path"/> through <paramref name="read"/> and <paramref name="insert"/> unless this
    /// database lists it (by name, size and the reader's <paramref name="version"/>: a reader that reads more of a file
    /// loads it again).</summary>
    private async Task LoadAsync(string path, string setting, string package, Func<IEnumerable<(string, string)>> read, string table, string insert,
        CancellationToken cancellationToken, int version = 1)
    {
        if (!File.Exists(path))
        {
            Log.LexiconMissing(logger, path, setting, package);
            return;
        }

        var source = $"{Path.GetFileName(path)}:{new FileInfo(path).Length}" + (version > 1 ? $":v{version}" : "");
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        // Silos starting together: one loads, the others wait here and then find it loaded.
        await using (var create = new NpgsqlCommand(
            "SELECT pg_advisory_xact_lock(7204312); CREATE TEMP TABLE lexicon_words (first text, second text) ON COMMIT DROP", connection, transaction))
        {
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var check = new NpgsqlCommand("SELECT count(*) FROM kb_lexicon_sources WHERE source = $1", connection, transaction))
        {
            check.Parameters.AddWithValue(source);
            if ((long)(await check.ExecuteScalarAsync(cancellationToken))! > 0)
            {
                return;
            }
        }

        var pairs = 0;
        await using (var import = await connection.BeginBinaryImportAsync("COPY lexicon_words (first, second) FROM STDIN (FORMAT BINARY)", cancellationToken))
        {
            foreach (var (first, second) in read())
            {
                await import.StartRowAsync(cancellationToken);
                await import.WriteAsync(first, cancellationToken);
                await import.WriteAsync(second, cancellationToken);
                pairs++;
            }

            await import.CompleteAsync(cancellationToken);
        }

        await using (var load = new NpgsqlCommand(insert, connection, transaction))
        {
            await load.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var record = new NpgsqlCommand("INSERT INTO kb_lexicon_sources (source, pairs) VALUES ($1, $2)", connection, transaction))
        {
            record.Parameters.AddWithValue(source);
            record.Parameters.AddWithValue(pairs);
            await record.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        await using (var analyze = new NpgsqlCommand($"ANALYZE {table}", connection))
        {
            await analyze.ExecuteNonQueryAsync(cancellationToken); // the planner's estimates for the lookups that search them
        }

        Log.LexiconLoaded(logger, pairs, path);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
