using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CustomerGrains.Grains;

namespace CustomerGrains.Gateway.Tests;

/// <summary>The demo data run.sh loads (deploy/demo), through the same public API calls deploy/scripts/demo.sh makes.</summary>
public sealed class DemoDataTests(GatewayCluster gateway) : IClassFixture<GatewayCluster>
{
    [Fact]
    public async Task The_starter_knowledge_base_and_customers_load_once_and_answer_in_each_customers_language()
    {
        using var admin = gateway.Agent(GatewayCluster.GlobexAdmin);
        var kb = File.ReadAllText(Fixtures.InRepository("deploy", "demo", "kb.json"));

        var first = await (await admin.PostAsync("/v1/kb/import", new StringContent(kb, Encoding.UTF8, "application/json"))).Content.ReadFromJsonAsync<JsonElement>();
        var second = await (await admin.PostAsync("/v1/kb/import", new StringContent(kb, Encoding.UTF8, "application/json"))).Content.ReadFromJsonAsync<JsonElement>();
        foreach (var line in File.ReadAllLines(Fixtures.InRepository("deploy", "demo", "customers.tsv")).Where(l => l.Length > 0 && l[0] != '#'))
        {
            var (customer, body) = (line[..line.IndexOf('\t')], line[(line.IndexOf('\t') + 1)..]);
            for (var load = 0; load < 2; load++)
            {
                (await admin.PostAsync($"/v1/customers/{customer}/interactions", new StringContent(body, Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
            }
        }

        var entries = (await admin.GetFromJsonAsync<List<KbEntry>>("/v1/kb/export", GatewayCluster.Json))!;
        Assert.True(first.GetProperty("imported").GetInt32() >= 40);
        Assert.Equal(0, second.GetProperty("imported").GetInt32());
        Assert.Equal(["en", "ru", "uk"], entries.Select(e => e.Language).Distinct().Order());
        Assert.Equal(3, (await ContextAsync(admin, "standard:ann-lee")).Stats.Interactions); // loaded twice, stored once

        foreach (var (customer, language, greeting) in new[] { ("standard:ann-lee", "en", "Hello, Ann Lee!"), ("standard:oleg-petrov", "ru", "Здравствуйте, Олег Петров!"), ("standard:oksana-koval", "uk", "Добрий день, Оксана Коваль!") })
        {
            var result = await (await admin.PostAsJsonAsync($"/v1/customers/{customer}/suggestions", new { count = 2 })).Content.ReadFromJsonAsync<SuggestionResult>(GatewayCluster.Json);
            Assert.Equal(language, result!.Language);
            Assert.NotEmpty(result.Suggestions);
            Assert.All(result.Suggestions, s =>
            {
                Assert.StartsWith(greeting, s.Text, StringComparison.Ordinal);
                Assert.Equal(language, entries.Single(e => e.EntryId == Assert.Single(s.Sources)).Language);
                Assert.DoesNotContain('\uFFFD', s.Text);
            });
        }
    }

    private static async Task<CustomerContext> ContextAsync(HttpClient client, string customer) =>
        (await client.GetFromJsonAsync<CustomerContext>($"/v1/customers/{customer}/context", GatewayCluster.Json))!;
}
