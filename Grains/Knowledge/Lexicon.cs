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
/// deliberately narrow: single English headwords, and from each article the single Russian words of its first senses
/// (word lists between sense numbers, commas and semicolons), leaving out examples (anything with Latin letters),
/// parenthesised glosses, transcriptions and senses marked with a usage or domain label (_разг., _полигр.), which are
/// the rare ones.
/// </summary>
public static partial class MuellerDictionary
{
    /// <summary>Each headword's first <paramref name="perHeadword"/> translations; an article that only refers to
    /// another spelling (connection: "= connexion") takes that one's.</summary>
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
                    if (headword is not null && HeadwordPattern().IsMatch(headword))
                    {
                        var text = Transcription().Replace(body.ToString(), " ").Trim();
                        if (Reference().Match(text) is { Success: true } reference)
                        {
                            references[headword] = reference.Groups[1].Value;
                        }
                        else if (!translations.ContainsKey(headword))
                        {
                            translations[headword] = [.. Translations(text).Take(perHeadword)];
                        }
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

        foreach (var (headword, words) in translations)
        {
            foreach (var word in words)
            {
                yield return (headword, word);
            }
        }

        foreach (var (headword, target) in references)
        {
            if (!translations.ContainsKey(headword) && translations.TryGetValue(target, out var words))
            {
                foreach (var word in words)
                {
                    yield return (headword, word);
                }
            }
        }
    }

    /// <summary>The single Russian words an article's body gives as translations, in order, each once.</summary>
    internal static IEnumerable<string> Translations(string body)
    {
        var text = Transcription().Replace(body, " ");
        for (var previous = ""; previous != text;)
        {
            previous = text;
            text = Parenthesised().Replace(text, " "); // innermost first: glosses may nest
        }

        text = SenseNumber().Replace(text, ";");
        text = LabelledSense().Replace(text, ";"); // a sense marked _разг. or _полигр. up to its end
        text = PartOfSpeech().Replace(text, " ");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var segment in text.Split([';', ',', ':', '.', '!', '?'], StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var word = segment.ToLowerInvariant();
            if (RussianWord().IsMatch(word) && seen.Add(word))
            {
                yield return word;
            }
        }
    }

    [GeneratedRegex(@"^[a-z]{2,}$")]
    private static partial Regex HeadwordPattern();

    [GeneratedRegex(@"\[[^\]]*\]")]
    private static partial Regex Transcription();

    [GeneratedRegex(@"^=\s*([a-z]+)$")]
    private static partial Regex Reference();

    [GeneratedRegex(@"\([^()]*\)")]
    private static partial Regex Parenthesised();

    [GeneratedRegex(@"_[а-яё]+\.[^;]*")]
    private static partial Regex LabelledSense();

    [GeneratedRegex(@"_[a-z\-]+\.")]
    private static partial Regex PartOfSpeech();

    [GeneratedRegex(@"(?<![\w])(\d+[\.\)]|[а-я]\))")]
    private static partial Regex SenseNumber();

    [GeneratedRegex(@"^[а-яё]{3,}$")]
    private static partial Regex RussianWord();
}

/// <summary>
/// Puts the English-Russian dictionary (<see cref="KnowledgeOptions.EnglishRussianDictionary"/>) into kb_lexicon as
/// pairs of stems (lexemes as PostgreSQL's english and russian text-search configurations make them, so they meet the
/// entries' search vectors), once per database: a silo starting finds it there (kb_lexicon_sources) and reads
/// nothing. A plain table, so it works on a managed PostgreSQL that installs no dictionary files. Without the file,
/// questions are matched within their own language only, and the log says so.
/// </summary>
public sealed class LexiconLoading(NpgsqlDataSource database, IOptions<KnowledgeOptions> options, ILogger<LexiconLoading> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.EnglishRussianDictionary is not { Length: > 0 } path)
        {
            return;
        }

        if (!File.Exists(path))
        {
            Log.LexiconMissing(logger, path);
            return;
        }

        var source = $"{Path.GetFileName(path)}:{new FileInfo(path).Length}";
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // Silos starting together: one loads, the others wait here and then find it loaded.
        await using (var create = new NpgsqlCommand(
            "SELECT pg_advisory_xact_lock(7204312); CREATE TEMP TABLE lexicon_words (english text, russian text) ON COMMIT DROP", connection, transaction))
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
        await using (var import = await connection.BeginBinaryImportAsync("COPY lexicon_words (english, russian) FROM STDIN (FORMAT BINARY)", cancellationToken))
        {
            foreach (var (english, russian) in MuellerDictionary.Read(path))
            {
                await import.StartRowAsync(cancellationToken);
                await import.WriteAsync(english, cancellationToken);
                await import.WriteAsync(russian, cancellationToken);
                pairs++;
            }

            await import.CompleteAsync(cancellationToken);
        }

        await using (var load = new NpgsqlCommand(
            """
            INSERT INTO kb_lexicon (english, russian)
            SELECT DISTINCT e.lexeme, r.lexeme
            FROM lexicon_words w,
                 unnest(tsvector_to_array(to_tsvector('english', w.english))) e(lexeme),
                 unnest(tsvector_to_array(to_tsvector('russian', w.russian))) r(lexeme)
            ON CONFLICT DO NOTHING
            """, connection, transaction))
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
        await using (var analyze = new NpgsqlCommand("ANALYZE kb_lexicon", connection))
        {
            await analyze.ExecuteNonQueryAsync(cancellationToken); // the planner's estimates for the joins that search it
        }

        Log.LexiconLoaded(logger, pairs, path);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
