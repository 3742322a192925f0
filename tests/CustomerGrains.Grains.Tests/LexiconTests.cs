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
