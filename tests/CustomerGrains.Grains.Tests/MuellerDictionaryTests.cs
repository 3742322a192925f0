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

        Assert.Equal(["зачёркивание", "отмена", "аннулирование", "отменять"], MuellerDictionary.Translations(body));
    }

    [Fact]
    public void Headwords_of_one_word_are_read_and_a_spelling_that_refers_to_another_takes_its_translations()
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
            a priori
               _лат. _adv. априори
            """);

        var pairs = MuellerDictionary.Read(_path).ToLookup(p => p.English, p => p.Russian);

        Assert.Equal(["пароль", "пропуск"], pairs["password"]);
        Assert.Equal(["связь", "соединение"], pairs["connexion"]);
        Assert.Equal(["связь", "соединение"], pairs["connection"]);
        Assert.Empty(pairs["a priori"]);
    }

    private void Write(string text)
    {
        using var file = new GZipStream(File.Create(_path), CompressionLevel.Fastest);
        file.Write(Encoding.UTF8.GetBytes(text.Replace("\r", "", StringComparison.Ordinal) + "\n"));
    }

    public void Dispose() => File.Delete(_path);
}
