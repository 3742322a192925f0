using CustomerGrains.Inference.Generation;

namespace CustomerGrains.Inference.Tests;

public sealed class SamplerTests
{
    /// <summary>Logits whose softmax is <paramref name="probabilities"/>, then padding tokens that never win.</summary>
    private static float[] Logits(int vocabulary, params double[] probabilities)
    {
        var logits = Enumerable.Repeat(-1e4f, vocabulary).ToArray();
        for (var i = 0; i < probabilities.Length; i++)
        {
            logits[i] = (float)Math.Log(probabilities[i]);
        }

        return logits;
    }

    private static Dictionary<int, int> Draws(SamplingOptions options, float[] logits, int draws = 20_000)
    {
        var sampler = new Sampler(options);
        return Enumerable.Range(0, draws).Select(_ => sampler.Next((float[])logits.Clone(), [])).CountBy(t => t).ToDictionary();
    }

    [Fact]
    public void Greedy_takes_the_best_token_and_the_first_of_a_tie()
    {
        var sampler = new Sampler(SamplingOptions.Greedy);

        Assert.Equal(2, sampler.Next([0.1f, 0.5f, 0.9f, -3f], []));
        Assert.Equal(1, sampler.Next([0.1f, 0.9f, 0.9f, -3f], []));
    }

    [Fact]
    public void Temperature_alone_draws_in_proportion_to_the_softmax()
    {
        var draws = Draws(new SamplingOptions(Temperature: 1, Seed: 1), Logits(1000, 0.6, 0.3, 0.1));

        Assert.Equal([0, 1, 2], draws.Keys.Order());
        Assert.InRange(draws[0] / 20_000.0, 0.58, 0.62);
        Assert.InRange(draws[1] / 20_000.0, 0.28, 0.32);
    }

    [Fact]
    public void Top_k_keeps_only_the_k_best_and_renormalises_over_them()
    {
        var draws = Draws(new SamplingOptions(Temperature: 1, TopK: 2, Seed: 2), Logits(1000, 0.45, 0.3, 0.25));

        Assert.Equal([0, 1], draws.Keys.Order());
        Assert.InRange(draws[0] / 20_000.0, 0.58, 0.62); // 0.45 / 0.75
    }

    [Fact]
    public void Top_p_keeps_the_smallest_set_reaching_p_in_a_large_vocabulary()
    {
        // Qwen2's vocabulary size; the nucleus of 0.75 is the two best (0.5 + 0.3).
        var draws = Draws(new SamplingOptions(Temperature: 1, TopP: 0.75f, Seed: 3), Logits(151_936, 0.5, 0.3, 0.15, 0.05), draws: 2_000);

        Assert.Equal([0, 1], draws.Keys.Order());
    }

    [Fact]
    public void Top_p_over_a_flat_distribution_can_draw_any_token()
    {
        var draws = Draws(new SamplingOptions(Temperature: 1, TopP: 0.99f, Seed: 4), new float[50], draws: 5_000);

        Assert.True(draws.Count >= 45, $"only {draws.Count} of 50 equally likely tokens were drawn");
    }

    [Fact]
    public void A_seed_repeats_the_draws()
    {
        var options = new SamplingOptions(Temperature: 0.8f, TopK: 40, TopP: 0.95f, Seed: 5);
        var logits = Enumerable.Range(0, 500).Select(i => (float)Math.Sin(i)).ToArray();
        var first = new Sampler(options);
        var second = new Sampler(options);

        var a = Enumerable.Range(0, 50).Select(_ => first.Next((float[])logits.Clone(), [])).ToList();
        var b = Enumerable.Range(0, 50).Select(_ => second.Next((float[])logits.Clone(), [])).ToList();

        Assert.Equal(a, b);
        Assert.True(a.Distinct().Count() > 5);
    }
}
