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
}
