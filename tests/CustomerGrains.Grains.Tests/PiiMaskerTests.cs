using CustomerGrains.Grains.Suggestions;

namespace CustomerGrains.Grains.Tests;

public sealed class PiiMaskerTests
{
    private const string Message =
        "Hi, I'm ann.lee+shop@example.co.uk, call me on +49 170 1234567. Refund to IBAN DE89 3704 0044 0532 0130 00 " +
        "or my card 4111 1111 1111 1111, not order 12345678. Write to ann.lee+shop@example.co.uk again.";

    [Fact]
    public void Emails_phones_cards_and_IBANs_become_placeholders_and_the_rest_stays()
    {
        var masker = new PiiMasker();

        var masked = masker.Mask(Message);

        Assert.Equal(
            "Hi, I'm [EMAIL_1], call me on [PHONE_1]. Refund to IBAN [IBAN_1] or my card [CARD_1], not order 12345678. Write to [EMAIL_1] again.",
            masked);
        foreach (var secret in new[] { "ann.lee", "170 1234567", "DE89", "4111" })
        {
            Assert.DoesNotContain(secret, masked, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Placeholders_in_what_the_model_writes_are_restored()
    {
        var masker = new PiiMasker();
        masker.Mask(Message);

        var restored = masker.Restore("We refunded [CARD_1] and will confirm at [EMAIL_1]; [PHONE_9] is unknown.");

        Assert.Equal("We refunded 4111 1111 1111 1111 and will confirm at ann.lee+shop@example.co.uk; [PHONE_9] is unknown.", restored);
    }

    [Fact]
    public void Numbers_that_fail_the_Luhn_check_are_not_cards()
    {
        Assert.Equal("Invoice 4111 1111 1111 1112 is due.", new PiiMasker().Mask("Invoice 4111 1111 1111 1112 is due."));
    }

    [Theory]
    [InlineData("Hello Ann Lee, Ann speaking.", "Hello [NAME_1], [NAME_2] speaking.")]
    [InlineData("My name is Oleg Petrov and I live at 5 Baker St.", "My name is [NAME_1] and I live at [ADDRESS_1]")]
    [InlineData("Меня зовут Олег, паспорт 45 06 123456, счёт 40817810099910004312.", "Меня зовут [NAME_1], паспорт [PASSPORT_1], счёт [ACCOUNT_1].")]
    [InlineData("Позвоните 89161234567, адрес ул. Ленина, д. 5, кв. 12", "Позвоните [PHONE_1], адрес [ADDRESS_1]")]
    [InlineData("Мене звати Ірина, вул. Хрещатик, 22, телефон 0501234567", "Мене звати [NAME_1], [ADDRESS_1], телефон [PHONE_1]")]
    [InlineData("iban de89 3704 0044 0532 0130 00 and card 4111.1111.1111.1111", "iban [IBAN_1] and card [CARD_1]")]
    [InlineData("Order 12345678 and code ab12 cdef ghij klmn stay.", "Order 12345678 and code ab12 cdef ghij klmn stay.")]
    public void Names_addresses_national_phones_accounts_passports_and_any_case_IBANs_are_masked_in_English_Russian_and_Ukrainian(string text, string masked)
    {
        Assert.Equal(masked, new PiiMasker("Ann Lee").Mask(text));
    }

    [Fact]
    public void A_profile_name_is_masked_as_written_so_the_same_word_in_lower_case_stays()
    {
        var masker = new PiiMasker("Mark Hope");

        Assert.Equal("[NAME_1] wrote: I hope you mark it done.", masker.Mask("Mark wrote: I hope you mark it done."));
        Assert.Equal("Thanks, Mark!", masker.Restore("Thanks, [NAME_1]!"));
    }

    [Fact]
    public async Task Text_made_to_make_a_backtracking_pattern_take_quadratic_time_is_masked_promptly()
    {
        // Runs of what every pattern repeats over, without what would end a match: each would take minutes if any
        // pattern backtracked over the whole run from every start.
        var hostile = string.Concat(Enumerable.Repeat("1 2 3 4 5 6 7 8 9 0 ", 5_000)) + new string('a', 50_000) + string.Concat(Enumerable.Repeat("Word ", 10_000))
                      + string.Concat(Enumerable.Repeat("ул. Ленина ", 5_000));

        var masked = await Task.Run(() => new PiiMasker("Ann Lee").Mask(hostile)).WaitAsync(TimeSpan.FromSeconds(20));

        Assert.NotEmpty(masked);
    }
}
