using CustomerGrains.Grains;
using CustomerGrains.Testing;

namespace CustomerGrains.Gateway.Tests;

/// <summary>Questions finding entries written in the other language, through Mueller's English-Russian dictionary as
/// Debian ships it (test.sh installs it: deploy/scripts/dictionaries.sh).</summary>
public sealed class KnowledgeAcrossLanguagesTests
{
    private const string Dictionary = "/usr/share/dictd/mueller7.dict.dz";

    private static readonly KbEntryInput[] Entries =
    [
        new("How do I change my password?", "Open Settings, then Security, and choose a new password.", null, "en"),
        new("Can I cancel my subscription?", "Yes: Billing, then Subscription, then Cancel. You keep access until the period ends.", null, "en"),
        new("Где моя посылка?", "Статус доставки виден в разделе Заказы; курьер звонит за час до доставки.", null, "ru"),
        new("Как оплатить счёт картой?", "В разделе Оплата выберите счёт и нажмите Оплатить картой.", null, "ru"),
    ];

    [Fact]
    public async Task A_question_in_Russian_finds_the_English_entry_and_one_in_English_the_Russian_entry()
    {
        Assert.True(File.Exists(Dictionary), $"{Dictionary} is missing: run the tests with ./test.sh, which installs mueller7-dict");
        var options = GatewayTestOptions.Create("http://127.0.0.1:9");
        options.Configuration["Knowledge:EnglishRussianDictionary"] = Dictionary;
        await using var cluster = await TestCluster.StartAsync(1, options);
        var kb = cluster.Silos[0].GrainFactory.GetGrain<IKnowledgeBaseGrain>("across");
        await kb.ImportAsync(Entries, "test");

        var password = await kb.SearchAsync("Как поменять пароль?", 3);
        var subscription = await kb.SearchAsync("Хочу отменить подписку", 3);
        var delivery = await kb.SearchAsync("When will the courier make the delivery?", 3);
        var invoice = await kb.SearchAsync("Can I pay the invoice with a card?", 3);

        Assert.Equal("How do I change my password?", password[0].Question);
        Assert.Equal("Can I cancel my subscription?", subscription[0].Question);
        Assert.Equal("Где моя посылка?", delivery[0].Question);
        Assert.Equal("Как оплатить счёт картой?", invoice[0].Question);
        Assert.All(new[] { password[0], subscription[0], delivery[0], invoice[0] }, m => Assert.InRange(m.Score, 0.01, 0.5)); // below a same-language match of equal coverage

        // A second silo finds the dictionary loaded and starts without reading it again.
        var second = await cluster.AddSiloAsync();
        Assert.Equal(1L, await cluster.Database.ScalarAsync<long>("SELECT count(*) FROM kb_lexicon_sources"));
        Assert.Equal("How do I change my password?", (await second.GrainFactory.GetGrain<IKnowledgeBaseGrain>("across").SearchAsync("Как поменять пароль?", 3))[0].Question);
    }

    [Fact]
    public async Task Without_the_dictionary_a_question_finds_only_entries_in_its_own_language()
    {
        await using var cluster = await TestCluster.StartAsync(1, GatewayTestOptions.Create("http://127.0.0.1:9"));
        var kb = cluster.Silos[0].GrainFactory.GetGrain<IKnowledgeBaseGrain>("within");
        await kb.ImportAsync(Entries, "test");

        Assert.Equal(0L, await cluster.Database.ScalarAsync<long>("SELECT count(*) FROM kb_lexicon"));
        Assert.DoesNotContain(await kb.SearchAsync("Хочу отменить подписку", 3), m => m.Question == "Can I cancel my subscription?");
    }
}
