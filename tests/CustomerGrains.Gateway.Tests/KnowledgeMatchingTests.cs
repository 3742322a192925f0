using System.Text.Json;
using CustomerGrains.Grains;
using CustomerGrains.Testing;

namespace CustomerGrains.Gateway.Tests;

public sealed class KnowledgeMatchingTests(GatewayCluster gateway) : IClassFixture<GatewayCluster>
{
    private sealed record KbQuery(string Query, string Expected);

    [Fact]
    public async Task Matching_survives_typos_and_word_forms_in_Russian_and_English()
    {
        var entries = JsonSerializer.Deserialize<List<KbEntryInput>>(File.ReadAllText(Fixtures.Path("kb", "support-kb.json")), GatewayCluster.Json)!;
        var queries = JsonSerializer.Deserialize<List<KbQuery>>(File.ReadAllText(Fixtures.Path("kb", "queries.json")), GatewayCluster.Json)!;
        var kb = gateway.Silo.GrainFactory.GetGrain<IKnowledgeBaseGrain>("matching");
        Assert.True(entries.Count >= 50);
        Assert.Equal(entries.Count, await kb.ImportAsync(entries, "test"));

        var misses = new List<string>();
        foreach (var query in queries)
        {
            var hits = await kb.SearchAsync(query.Query, 5);
            if (hits.Count == 0 || hits[0].Question != query.Expected)
            {
                misses.Add($"'{query.Query}' -> {(hits.Count == 0 ? "nothing" : $"'{hits[0].Question}' ({hits[0].Score})")}, expected '{query.Expected}'");
            }
        }

        Assert.True(misses.Count == 0, string.Join("\n", misses));
    }

    [Fact]
    public async Task An_aliases_words_become_synonyms_of_its_entrys_words_for_that_tenants_other_entries()
    {
        KbEntryInput Reset(params string[] aliases) => new("How do I reset my password?", "Use Forgot password on the sign-in page.", null, "en", aliases);
        var rules = new KbEntryInput("Where do I see the password rules?", "Settings, then Security, lists them.", null, "en");
        var taught = gateway.Silo.GrainFactory.GetGrain<IKnowledgeBaseGrain>("learning");
        var untaught = gateway.Silo.GrainFactory.GetGrain<IKnowledgeBaseGrain>("not-learning");
        await taught.ImportAsync([Reset("forgot my passcode"), rules], "test");
        await untaught.ImportAsync([Reset(), rules], "test");

        // "forgot my passcode" for "How do I reset my password?" taught passcode = password (and forgot = reset).
        var learned = await taught.SearchAsync("passcode?", 5);
        var unlearned = await untaught.SearchAsync("passcode?", 5);

        Assert.Equal("How do I reset my password?", learned[0].Question);
        Assert.Contains(learned, m => m.Question == "Where do I see the password rules?");
        Assert.DoesNotContain(unlearned, m => m.Question == "Where do I see the password rules?");
    }

    [Fact]
    public async Task A_Russian_question_meets_a_Ukrainian_entry_through_words_spelled_alike_below_a_same_language_match()
    {
        // No dictionary here: "ліміт трафіку" and "лимит трафика", "підписати договір" and "подписать договор" are words
        // spelled in two alphabets (Sql/018_kb_cognates.sql).
        var kb = gateway.Silo.GrainFactory.GetGrain<IKnowledgeBaseGrain>("cognates");
        await kb.ImportAsync(
        [
            new("Який ліміт трафіку на місяць?", "Ліміт залежить від тарифу: дивіться застосунок.", null, "uk"),
            new("Сколько стоит звонок за границу?", "Зависит от страны: смотрите раздел Тарифы.", null, "ru"),
            new("Як підписати договір онлайн?", "Відкрийте застосунок і підтвердіть кодом з SMS.", null, "uk"),
        ], "test");

        var across = await kb.SearchAsync("Лимит трафика", 5);

        Assert.Equal("Який ліміт трафіку на місяць?", across[0].Question);
        Assert.Equal("Як підписати договір онлайн?", (await kb.SearchAsync("Подписать договор", 5))[0].Question); // і for о: під/под
        await kb.ImportAsync([new("Какой лимит трафика в месяц?", "Смотрите приложение.", null, "ru")], "test");
        var within = await kb.SearchAsync("Лимит трафика", 5);
        Assert.Equal("Какой лимит трафика в месяц?", within[0].Question);
        Assert.True(within[0].Score > across[0].Score);
    }

    [Fact]
    public async Task A_Ukrainian_question_meets_a_Russian_entry_whose_question_has_all_its_words_above_a_Ukrainian_one_with_one()
    {
        // Cognates in the entry's question count as asked there (Sql/021: a cognate stem keeps its weight), and the
        // Ukrainian infinitive's -ти reads as Russian -ть: "підключити" meets "подключить".
        var kb = gateway.Silo.GrainFactory.GetGrain<IKnowledgeBaseGrain>("cognate-questions");
        await kb.ImportAsync(
        [
            new("Как подключить домашний интернет?", "Оставьте заявку в приложении: мастер приедет в течение 3 дней.", null, "ru"),
            new("Як підключити роумінг?", "Увімкніть роумінг у застосунку в розділі Послуги.", null, "uk"),
        ], "test");

        var found = await kb.SearchAsync("Як підключити домашній інтернет?", 5);

        Assert.Equal("Как подключить домашний интернет?", found[0].Question);
        Assert.Equal("Як підключити роумінг?", found[1].Question);
    }
}
