using CustomerGrains.Grains.Suggestions;

namespace CustomerGrains.Grains.Tests;

public sealed class RetrievedReplyTests
{
    [Theory]
    [InlineData("Where is my order?", "en")]
    [InlineData("Где моя посылка?", "ru")]
    [InlineData("Де моя посилка? Дякую", "uk")]
    [InlineData("Wo ist meine Bestellung? Grüße", "de")]
    [InlineData("Order 1234 — где она?", "ru")] // more Cyrillic letters than Latin ones
    public void The_language_is_told_from_the_letters_of_the_message(string message, string language)
    {
        Assert.Equal(language, TextLanguage.Detect(message));
        Assert.Equal("uk", RetrievedReply.LanguageOf("UK", "ru", message)); // a preference wins
    }

    [Fact]
    public void An_answer_is_greeted_by_name_in_the_customers_language_with_the_order_they_mentioned()
    {
        var formal = RetrievedReply.Fit("Track it under Orders.", "Ann Lee", "en", null, "Hi, where is my order #1234? It is late.");
        var casual = RetrievedReply.Fit("Відстежуйте його в розділі Замовлення.", "Оксана Коваль", "uk", "casual", "Де моє замовлення 98765?");
        var nameless = RetrievedReply.Fit("Отслеживайте заказ в разделе Заказы.", null, "ru", "formal", "Где посылка?");

        Assert.Equal("Hello, Ann Lee!\n\nAbout your order 1234: Track it under Orders.\n\nIf there is anything else, just reply to this message and we will help.", formal);
        Assert.Equal("Привіт, Оксана!\n\nЩодо вашого замовлення 98765: Відстежуйте його в розділі Замовлення.\n\nЯкщо ще щось потрібно, пиши!", casual);
        Assert.Equal("Здравствуйте!\n\nОтслеживайте заказ в разделе Заказы.\n\nЕсли остались вопросы, напишите нам, мы поможем.", nameless);
    }

    [Theory]
    [InlineData("Отслеживайте заказ в разделе Заказы.", "ru", true)]
    [InlineData("Отслеживайте заказ в разделе Заказы.", "en", false)]
    [InlineData("Track it under Orders; code ЯКОРЬ.", "en", true)] // a code in another script does not tip it
    [InlineData("Track it under Orders.", "uk", false)]
    [InlineData("12345", "uk", true)]
    public void An_answer_counts_as_written_in_a_language_by_its_alphabet(string text, string language, bool written)
    {
        Assert.Equal(written, TextLanguage.WrittenIn(text, language));
    }
}
