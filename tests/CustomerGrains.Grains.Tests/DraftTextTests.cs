using CustomerGrains.Grains.Suggestions;

namespace CustomerGrains.Grains.Tests;

public sealed class DraftTextTests
{
    [Fact]
    public void Control_characters_a_model_emits_are_dropped_and_line_breaks_kept()
    {
        var draft = SuggestionComposer.Printable(" \u0001Hello\0 Ann,\r\n\tyour refund\u001b is on its way.\u0085 \0");

        Assert.Equal("Hello Ann,\n\tyour refund is on its way.", draft);
    }

    [Fact]
    public void Printable_text_comes_back_as_it_was_only_trimmed()
    {
        const string text = "Привіт! Ваше замовлення [S1] вже в дорозі — «швидко».";

        Assert.Same(text, SuggestionComposer.Printable(text));
        Assert.Equal(text, SuggestionComposer.Printable("  " + text + "\n"));
    }

    [Theory]
    [InlineData("Your parcel ships today [S1].", "en", true)]
    [InlineData("Ваша посылка уже в пути [S1].", "ru", true)]
    [InlineData("Ваша посылка уже в пути [S1].", "en", false)]                 // another alphabet than the customer's
    [InlineData("Your parcel \uFFFD ships today.", "en", false)]                // a character the model cut in half
    [InlineData("s\uFFFDлен\uFFFD|hoesадійшлоekomm", "uk", false)]              // what random weights write
    [InlineData("[S1] 1234 ...", "en", false)]                                 // no words at all
    public void Only_text_in_the_customers_alphabet_without_broken_characters_is_usable(string draft, string language, bool usable)
    {
        Assert.Equal(usable, SuggestionComposer.Usable(draft, language));
    }
}
