using System.Numerics.Tensors;

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
/// negative ones), temperature, top-k, then top-p (nucleus) over what top-k kept, then a draw; a seed makes the draws
/// repeatable. One per sequence; called once per token, so it sorts only the few best tokens, never the vocabulary
/// (152k for Qwen2), and reuses its buffers.</summary>
public sealed class Sampler(SamplingOptions options)
{
    private readonly Random _random = options.Seed is { } seed ? new Random(seed) : new Random();
    private float[] _weights = [];
    private float[] _keys = [];
    private int[] _tokens = [];

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

        // Weights exp((logit - max) / temperature): the best token weighs 1.
        if (_weights.Length != logits.Length)
        {
            _weights = new float[logits.Length];
        }

        var weights = _weights.AsSpan();
        TensorPrimitives.Subtract(logits, TensorPrimitives.Max(logits), weights);
        TensorPrimitives.Multiply(weights, 1 / options.Temperature, weights);
        TensorPrimitives.Exp(weights, weights);
        if (options.TopK == 0 && options.TopP >= 1)
        {
            return Draw(weights, TensorPrimitives.Sum(weights));
        }

        var count = Candidates(weights, TensorPrimitives.Sum(weights));
        Array.Sort(_keys, _tokens, 0, count); // keys are negated weights: best first
        var kept = options.TopK > 0 ? Math.Min(options.TopK, count) : count;
        var sum = 0.0;
        for (var i = 0; i < kept; i++)
        {
            sum -= _keys[i];
        }

        if (options.TopP < 1)
        {
            var cumulative = 0.0;
            for (var i = 0; i < kept; i++)
            {
                cumulative -= _keys[i];
                if (cumulative >= options.TopP * sum)
                {
                    (kept, sum) = (i + 1, cumulative);
                    break;
                }
            }
        }

        var draw = _random.NextDouble() * sum;
        for (var i = 0; i < kept; i++)
        {
            draw += _keys[i];
            if (draw <= 0)
            {
                return _tokens[i];
            }
        }

        return _tokens[kept - 1];
    }

    /// <summary>Gathers the tokens weighing at least a floor into _keys (negated weights) and _tokens, lowering the
    /// floor until they are enough: the top-k best, or (with top-p alone) the nucleus's mass. They are always the best
    /// tokens, so whatever top-k and top-p keep lies among them; returns how many.</summary>
    private int Candidates(ReadOnlySpan<float> weights, float total)
    {
        for (var floor = 1e-3f; ; floor *= 1e-3f)
        {
            var count = 0;
            var mass = 0.0;
            foreach (var weight in weights)
            {
                if (weight >= floor)
                {
                    count++;
                    mass += weight;
                }
            }

            var enough = count == weights.Length || floor == 0
                || (options.TopK > 0 ? count >= options.TopK : mass >= options.TopP * total);
            if (!enough)
            {
                continue;
            }

            if (_keys.Length < count)
            {
                _keys = new float[count];
                _tokens = new int[count];
            }

            var next = 0;
            for (var token = 0; token < weights.Length; token++)
            {
                if (weights[token] >= floor)
                {
                    _keys[next] = -weights[token];
                    _tokens[next++] = token;
                }
            }

            return count;
        }
    }

    /// <summary>A draw over all tokens by weight.</summary>
    private int Draw(ReadOnlySpan<float> weights, float total)
    {
        var draw = _random.NextDouble() * total;
        for (var i = 0; i < weights.Length; i++)
        {
            draw -= weights[i];
            if (draw <= 0)
            {
                return i;
            }
        }

        return weights.Length - 1;
    }

    public static int ArgMax(ReadOnlySpan<float> values) => TensorPrimitives.IndexOfMax(values);
}
