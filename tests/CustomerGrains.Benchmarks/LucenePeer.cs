using Lucene.Net.Analysis;
using Lucene.Net.Analysis.En;
using Lucene.Net.Analysis.Miscellaneous;
using Lucene.Net.Analysis.Ru;
using Lucene.Net.Analysis.Standard;
using Lucene.Net.Documents;
using Lucene.Net.Index;
using Lucene.Net.QueryParsers.Classic;
using Lucene.Net.Search;
using Lucene.Net.Search.Similarities;
using Lucene.Net.Store;
using Lucene.Net.Util;

namespace CustomerGrains.Benchmarks;

/// <summary>
/// The second peer a team would set up instead: Lucene with BM25 and its stock analyzers. Each entry's question and
/// answer are indexed three times, by the English analyzer (Porter stemming), the Russian one (Snowball) and the
/// standard one (no stemming: Ukrainian has no stock analyzer), and a question is parsed by each into one OR query over
/// all the fields. The question field counts twice the answer.
/// </summary>
public sealed class LucenePeer : IDisposable
{
    private const LuceneVersion Version = LuceneVersion.LUCENE_48;
    private static readonly string[] Languages = ["en", "ru", "std"];
    private readonly RAMDirectory _directory = new();
    private readonly Analyzer _analyzer;
    private readonly DirectoryReader _reader;
    private readonly IndexSearcher _searcher;

    public LucenePeer(IEnumerable<(string Key, string Question, string Answer)> entries)
    {
        var perField = new Dictionary<string, Analyzer>();
        foreach (var language in Languages)
        {
            Analyzer analyzer = language switch { "en" => new EnglishAnalyzer(Version), "ru" => new RussianAnalyzer(Version), _ => new StandardAnalyzer(Version) };
            perField[$"question_{language}"] = analyzer;
            perField[$"answer_{language}"] = analyzer;
        }

        _analyzer = new PerFieldAnalyzerWrapper(new StandardAnalyzer(Version), perField);
        using (var writer = new IndexWriter(_directory, new IndexWriterConfig(Version, _analyzer) { Similarity = new BM25Similarity() }))
        {
            foreach (var (key, question, answer) in entries)
            {
                var document = new Document { new StringField("key", key, Field.Store.YES) };
                foreach (var language in Languages)
                {
                    document.Add(new TextField($"question_{language}", question, Field.Store.NO));
                    document.Add(new TextField($"answer_{language}", answer, Field.Store.NO));
                }

                writer.AddDocument(document);
            }

            writer.Commit();
        }

        _reader = DirectoryReader.Open(_directory);
        _searcher = new IndexSearcher(_reader) { Similarity = new BM25Similarity() };
    }

    /// <summary>The five best entries and their BM25 scores.</summary>
    public List<(string Key, double Score)> Search(string text)
    {
        var fields = Languages.SelectMany(l => new[] { $"question_{l}", $"answer_{l}" }).ToArray();
        var boosts = fields.ToDictionary(f => f, f => f.StartsWith("question", StringComparison.Ordinal) ? 2f : 1f);
        var parser = new MultiFieldQueryParser(Version, fields, _analyzer, boosts) { DefaultOperator = Operator.OR };
        Query query;
        try
        {
            query = parser.Parse(QueryParserBase.Escape(text));
        }
        catch (ParseException)
        {
            return [];
        }

        return [.. _searcher.Search(query, 5).ScoreDocs.Select(hit => (_searcher.Doc(hit.Doc).Get("key"), (double)hit.Score))];
    }

    public void Dispose()
    {
        _reader.Dispose();
        _analyzer.Dispose();
        _directory.Dispose();
    }
}
