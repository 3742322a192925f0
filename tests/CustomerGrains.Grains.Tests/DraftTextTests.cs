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
}
