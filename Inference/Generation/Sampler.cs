namespace CustomerGrains.Inference.Generation;

/// <summary>How the next token is chosen. Temperature 0 is greedy (always the most likely token).</summary>
public sealed record SamplingOptions(float Temperature = 0, int TopK = 0, float TopP = 1, float RepetitionPenalty = 1, int? Seed = null)
{
    public static readonly SamplingOptions Greedy = new();

    /// <summary>Every problem with the values, for a 400-class answer.</summary>
    public IEnumerable<string> Problems()
    {
        if (!(Temperature >= 0) || float.IsInfinity(Temperature))
        {
            yield return $"temperature must be 0 (greedy) or positive, not {Temperature}.";
        }

        if (TopK < 0)
        {
            yield return $"topK must be 0 (off) or positive, not {TopK}.";
        }

        if (!(TopP > 0 && TopP <= 1))
        {
            yield return $"topP must be in (0, 1], not {TopP}.";
        }

        if (!(RepetitionPenalty > 0) || float.IsInfinity(RepetitionPenalty))
        {
            yield return $"repetitionPenalty must be positive (1 is off), not {RepetitionPenalty}.";
        }
    }
}

/// <summary>Chooses tokens from logits: repetition penalty (as in Hugging Face: divide positive logits, multiply
/// negative ones), temperature, top-k, then top-p (nucleus), then a draw; a seed makes the draws repeatable.</summary>
public sealed class Sampler(SamplingOptions options)
{
    private readonly Random _random = options.Seed is { } seed ? new Random(seed) : new Random();

    public int Next(float[] logits, IReadOnlyList<int> previous)
    {
        if (options.RepetitionPenalty != 1)
        {
            foreach (var token in previous.Distinct())
            {
                logits[token] = logits[token] > 0 ? logits[token] / options.RepetitionPenalty : logits[token] * options.RepetitionPenalty;
            }
        }

        if (options.Temperature == 0)
        {
            return ArgMax(logits);
        }

        // Candidates by descending logit, cut by top-k, turned into probabilities at the temperature, cut by top-p.
        var order = Enumerable.Range(0, logits.Length).OrderByDescending(i => logits[i]).ToArray();
        var count = options.TopK > 0 ? Math.Min(options.TopK, order.Length) : order.Length;
        var max = logits[order[0]];
        var weights = new double[count];
        var sum = 0.0;
        for (var i = 0; i < count; i++)
        {
            weights[i] = Math.Exp((logits[order[i]] - max) / options.Temperature);
            sum += weights[i];
        }

        var kept = count;
        if (options.TopP < 1)
        {
            var cumulative = 0.0;
            for (var i = 0; i < count; i++)
            {
                cumulative += weights[i] / sum;
                if (cumulative >= options.TopP)
                {
                    kept = i + 1;
                    break;
                }
            }

            sum = weights.Take(kept).Sum();
        }

        var draw = _random.NextDouble() * sum;
        for (var i = 0; i < kept; i++)
        {
            draw -= weights[i];
            if (draw <= 0)
            {
                return order[i];
            }
        }

        return order[kept - 1];
    }

    public static int ArgMax(ReadOnlySpan<float> values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }

        return best;
    }
}
