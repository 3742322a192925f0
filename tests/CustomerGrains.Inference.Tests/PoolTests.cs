using CustomerGrains.Inference.Generation;
using CustomerGrains.Inference.Onnx;
using CustomerGrains.ModelMaker;
using CustomerGrains.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace CustomerGrains.Inference.Tests;

/// <summary>The continuous-batching pool on the tiny decoder.</summary>
public sealed class PoolTests : IDisposable
{
    private static readonly Lazy<string> Folder = new(() =>
    {
        // Larger than the tiny fixture so that a long request holds its slot for seconds, not milliseconds.
        var folder = ScratchFolder.Create("cg-pool-");
        TinyDecoder.Write(folder, new DecoderSize(Hidden: 256, Heads: 4, KvHeads: 2, Layers: 6, Intermediate: 1024, MaxPositions: 2048));
        return folder;
    });

    private readonly DecoderModel _model = DecoderModel.Load(Folder.Value, new SessionSettings());

    private InferencePool Pool(PoolOptions? options = null, TimeProvider? time = null) =>
        new(_model, options ?? new PoolOptions(), time ?? TimeProvider.System, NullLogger.Instance);

    /// <summary>A request that keeps its slot busy: many tokens, and no stop it could hit early.</summary>
    private static GenerationRequest Long(RequestPriority priority = RequestPriority.Interactive) => new("Where is my order?", MaxNewTokens: 2000, Priority: priority);

    [Fact]
    public async Task Concurrent_requests_get_what_each_would_get_alone()
    {
        await using var pool = Pool();
        string[] prompts = ["Where is my order?", "Здравствуйте!", "Refund please, order 12345.", "Guten Tag", "I'd like to return the shoes.", "Hello", "Где моя посылка?", "Thanks!"];

        var results = await Task.WhenAll(prompts.Select((p, i) => pool.GenerateAsync(new GenerationRequest(p, MaxNewTokens: 8 + i))));

        for (var i = 0; i < prompts.Length; i++)
        {
            var alone = new Generator(_model).GenerateGreedy(_model.Tokenizer.Encode(prompts[i]), 8 + i);
            Assert.Equal(alone.Where(t => !_model.Config.EosTokenIds.Contains(t)), results[i].Tokens);
        }

        Assert.Equal(prompts.Length, pool.Stats.Completed);
    }

    [Theory]
    [InlineData("optimum")]
    [InlineData("genai-int4")]
    public async Task Long_prompts_queued_past_the_batch_get_what_each_would_alone(string layout)
    {
        // Prompts of 1,000+ tokens (like a suggestion's, with its sources) and more requests than fit: sequences join
        // and leave all the time, and every join repacks a long cache (slots: copies rows into a cache that grows).
        using var tiny = DecoderModel.Load(layout == "optimum" ? TestModels.TinyFixture() : TestModels.GenAiInt4(), new SessionSettings());
        await using var pool = new InferencePool(tiny, new PoolOptions(MaxBatch: 10), TimeProvider.System, NullLogger.Instance);
        var kb = File.ReadAllText(Fixtures.Path("kb", "support-kb.json"));
        var prompts = Enumerable.Range(0, 24).Select(i => kb.Substring(i * 40, 2000)).ToArray();
        int MaxNewTokens(int i) => 24 + i % 4 * 24;

        // The stop string never comes; it makes every step decode text, as a suggestion's does.
        var results = await Task.WhenAll(prompts.Select((p, i) => pool.GenerateAsync(new GenerationRequest(p, MaxNewTokens(i), StopStrings: ["<|never generated|>"]))));

        Assert.True(results.Min(r => r.PromptTokens) > 1000, $"prompts of {results.Min(r => r.PromptTokens)} tokens are not long");
        for (var i = 0; i < prompts.Length; i++)
        {
            var alone = new Generator(tiny).GenerateGreedy(tiny.Tokenizer.Encode(prompts[i]), MaxNewTokens(i));
            Assert.Equal(alone.Where(t => !tiny.Config.EosTokenIds.Contains(t)), results[i].Tokens);
        }
    }

    [Fact]
    public async Task A_full_queue_rejects_at_once()
    {
        await using var pool = Pool(new PoolOptions(MaxBatch: 1, MaxQueue: 2));
        using var stop = new CancellationTokenSource();

        var burst = Enumerable.Range(0, 10).Select(_ => pool.GenerateAsync(Long(), stop.Token)).ToList();

        var refused = burst.Where(t => t.IsCompleted).ToList(); // answered before the call returned
        Assert.True(refused.Count >= 5, $"only {refused.Count} of 10 were refused at once with room for 1 running and 2 queued");
        foreach (var task in refused)
        {
            Assert.Equal(PoolRejectedException.QueueFull, (await Assert.ThrowsAsync<PoolRejectedException>(() => task)).Reason);
        }

        Assert.Equal(refused.Count, pool.Stats.Rejected);
        await stop.CancelAsync();
        await Task.WhenAll(burst.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
    }

    [Fact]
    public async Task A_request_whose_deadline_passes_in_the_queue_is_rejected_with_that_reason()
    {
        var time = new ManualTimeProvider();
        await using var pool = Pool(new PoolOptions(MaxBatch: 1), time);
        using var stop = new CancellationTokenSource();
        var running = pool.GenerateAsync(Long(), stop.Token);
        Assert.True(await Eventually.TrueAsync(() => pool.Stats.Running == 1, TimeSpan.FromSeconds(10)), "the first request never ran");

        var waiting = pool.GenerateAsync(new GenerationRequest("Hello", MaxNewTokens: 5, Deadline: time.GetUtcNow().AddSeconds(2)));
        time.Advance(TimeSpan.FromSeconds(3));

        var rejected = await Assert.ThrowsAsync<PoolRejectedException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(PoolRejectedException.DeadlineExceeded, rejected.Reason);
        Assert.Equal(1, pool.Stats.Expired);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
    }

    [Fact]
    public async Task A_request_still_running_at_its_deadline_is_stopped_and_its_slot_freed()
    {
        var time = new ManualTimeProvider();
        await using var pool = Pool(new PoolOptions(MaxBatch: 1), time);
        var running = pool.GenerateAsync(Long() with { Deadline = time.GetUtcNow().AddSeconds(2) });
        Assert.True(await Eventually.TrueAsync(() => pool.Stats.Running == 1, TimeSpan.FromSeconds(10)), "the first request never ran");
        var next = pool.GenerateAsync(new GenerationRequest("Hello", MaxNewTokens: 5));

        time.Advance(TimeSpan.FromSeconds(3));

        var stopped = await Assert.ThrowsAsync<PoolRejectedException>(() => running.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(PoolRejectedException.DeadlineExceeded, stopped.Reason);
        Assert.Contains("stopped at its deadline", stopped.Message, StringComparison.Ordinal);
        Assert.True((await next.WaitAsync(TimeSpan.FromSeconds(20))).Tokens.Count > 0);
        Assert.Equal(1, pool.Stats.Expired);
    }

    [Fact]
    public async Task A_request_that_could_not_finish_by_its_deadline_is_refused_without_waiting_for_it()
    {
        await using var pool = Pool(new PoolOptions(MaxBatch: 1));
        using var stop = new CancellationTokenSource();
        var running = pool.GenerateAsync(Long(), stop.Token);
        Assert.True(await Eventually.TrueAsync(() => pool.Stats.Steps > 10, TimeSpan.FromSeconds(10)), "the pool never stepped"); // the pace is known

        // 2,000 tokens in 100 ms would take a step of 0.05 ms; this model's take far longer.
        var hopeless = pool.GenerateAsync(new GenerationRequest("Hello", MaxNewTokens: 2000, Deadline: DateTimeOffset.UtcNow.AddMilliseconds(100)));

        var refused = await Assert.ThrowsAsync<PoolRejectedException>(() => hopeless.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(PoolRejectedException.DeadlineExceeded, refused.Reason);
        Assert.Contains("could not finish 2000 tokens before its deadline", refused.Message, StringComparison.Ordinal);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
    }

    [Fact]
    public async Task A_request_bigger_than_the_batch_holds_is_refused_at_once_not_left_waiting_forever()
    {
        await using var pool = Pool(new PoolOptions(MaxBatch: 4, MaxTokensInFlight: 64));

        var refused = await Assert.ThrowsAsync<ArgumentException>(() => pool.GenerateAsync(new GenerationRequest("Hello there", MaxNewTokens: 100)).WaitAsync(TimeSpan.FromSeconds(10)));

        Assert.Contains("Inference:MaxTokensInFlight 64", refused.Message, StringComparison.Ordinal);
        Assert.True((await pool.GenerateAsync(new GenerationRequest("Hello there", MaxNewTokens: 8)).WaitAsync(TimeSpan.FromSeconds(20))).Tokens.Count > 0); // one that fits runs
    }

    [Fact]
    public async Task A_running_draft_keeps_stepping_while_a_long_prompt_joins()
    {
        // 64 query tokens a chunk: the long prompt's prefill is some 28 chunks, and the running draft steps between
        // them. Prefilled in one piece, the draft would not step until the newcomer had its token (measured: 13 to 18
        // steps counted then, from enqueueing, which tokenizes the prompt, and from reading the count after).
        await using var pool = Pool(new PoolOptions(MaxBatch: 4, PrefillChunk: 64));
        var kb = File.ReadAllText(Fixtures.Path("kb", "support-kb.json"));
        var longPrompt = kb[..2200];
        var chunks = (_model.EncodePrompt(longPrompt).Length + 63) / 64;
        Assert.InRange(chunks, 25, 31);
        using var stop = new CancellationTokenSource();
        var running = pool.GenerateAsync(Long(), stop.Token);
        Assert.True(await Eventually.TrueAsync(() => Task.FromResult(pool.Stats.Running == 1), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(1)));

        var before = pool.Stats.Steps;
        var joined = await pool.GenerateAsync(new GenerationRequest(longPrompt, MaxNewTokens: 1)).WaitAsync(TimeSpan.FromSeconds(60));
        var during = pool.Stats.Steps - before;
        await stop.CancelAsync();

        Assert.Single(joined.Tokens);
        Assert.True(during >= chunks - 1, $"the running draft stepped {during} times while the long prompt was prefilled in {chunks} chunks");
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task A_request_whose_KV_cache_alone_is_over_the_budget_is_refused_at_once_naming_the_setting()
    {
        await using var pool = Pool(new PoolOptions(MaxBatch: 4, Model: "tiny", KvCacheBytes: 64 * _model.KvBytesPerToken));

        var refused = await Assert.ThrowsAsync<ArgumentException>(() => pool.GenerateAsync(new GenerationRequest("Hello there", MaxNewTokens: 100)).WaitAsync(TimeSpan.FromSeconds(10)));

        Assert.Contains("Inference:Models:tiny:KvCacheBytes", refused.Message, StringComparison.Ordinal);
        Assert.True((await pool.GenerateAsync(new GenerationRequest("Hello there", MaxNewTokens: 8)).WaitAsync(TimeSpan.FromSeconds(20))).Tokens.Count > 0); // one that fits runs
    }

    [Fact]
    public async Task Requests_join_the_batch_only_while_its_padded_KV_cache_fits_the_budget()
    {
        // Each request may reach its prompt plus 40 tokens: the budget holds two such rows, not three.
        const string Prompt = "Where is my order?";
        var rowTokens = _model.EncodePrompt(Prompt).Length + 40;
        await using var pool = Pool(new PoolOptions(MaxBatch: 8, KvCacheBytes: 2 * rowTokens * _model.KvBytesPerToken));

        var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => pool.GenerateAsync(new GenerationRequest(Prompt, MaxNewTokens: 40)))).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.All(results, r => Assert.NotEmpty(r.Tokens));
        Assert.Equal(2, pool.Stats.PeakBatch);
    }

    [Fact]
    public async Task An_idle_pool_runs_a_request_its_pace_says_cannot_finish_and_stops_it_at_its_deadline()
    {
        await using var pool = Pool(new PoolOptions(MaxBatch: 1));

        // Busy, the pool would refuse this at once (the test above); idle, it has no one to serve instead.
        var tried = pool.GenerateAsync(new GenerationRequest("Hello", MaxNewTokens: 2000, Deadline: DateTimeOffset.UtcNow.AddMilliseconds(500)));

        var stopped = await Assert.ThrowsAsync<PoolRejectedException>(() => tried.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("stopped at its deadline", stopped.Message, StringComparison.Ordinal);
        Assert.True(pool.Stats.Steps > 0);
    }

    [Fact]
    public async Task Cancelling_a_running_request_frees_its_slot_for_the_next()
    {
        await using var pool = Pool(new PoolOptions(MaxBatch: 1));
        using var cancel = new CancellationTokenSource();
        var running = pool.GenerateAsync(Long(), cancel.Token);
        Assert.True(await Eventually.TrueAsync(() => pool.Stats.Running == 1, TimeSpan.FromSeconds(10)), "the first request never ran");
        var next = pool.GenerateAsync(new GenerationRequest("Hello", MaxNewTokens: 5));

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
        var result = await next.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.True(result.Tokens.Count > 0);
        Assert.Equal(1, pool.Stats.Cancelled);
    }

    [Fact]
    public async Task Interactive_requests_start_before_background_ones_queued_earlier()
    {
        await using var pool = Pool(new PoolOptions(MaxBatch: 1));
        using var cancel = new CancellationTokenSource();
        var running = pool.GenerateAsync(Long(), cancel.Token);
        Assert.True(await Eventually.TrueAsync(() => pool.Stats.Running == 1, TimeSpan.FromSeconds(10)), "the first request never ran");
        var background = pool.GenerateAsync(new GenerationRequest("Hello", 3, Priority: RequestPriority.Background));
        var interactive = pool.GenerateAsync(new GenerationRequest("Hello", 3));

        await cancel.CancelAsync();
        var results = await Task.WhenAll(background, interactive).WaitAsync(TimeSpan.FromSeconds(20));

        // Queued is measured by the pool at admission: the interactive request, queued second, was admitted first.
        Assert.True(results[1].Queued < results[0].Queued, $"interactive waited {results[1].Queued}, background {results[0].Queued}");
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
    }

    [Fact]
    public async Task A_tenant_flooding_the_pool_neither_holds_back_another_tenants_request_nor_fills_the_whole_queue()
    {
        await using var pool = Pool(new PoolOptions(MaxBatch: 1, MaxQueue: 8));
        using var cancel = new CancellationTokenSource();
        var running = pool.GenerateAsync(Long() with { Tenant = "flood" }, cancel.Token);
        Assert.True(await Eventually.TrueAsync(() => pool.Stats.Running == 1, TimeSpan.FromSeconds(10)), "the first request never ran");

        // The flooding tenant queues six, its share of eight; a seventh is refused while another tenant's still fits.
        var flood = Enumerable.Range(0, 6).Select(_ => pool.GenerateAsync(new GenerationRequest("Hello", 3, Tenant: "flood"))).ToList();
        var refused = await Assert.ThrowsAsync<PoolRejectedException>(() => pool.GenerateAsync(new GenerationRequest("Hello", 3, Tenant: "flood")));
        var other = pool.GenerateAsync(new GenerationRequest("Hello", 3, Tenant: "other"));

        await cancel.CancelAsync();
        var results = await Task.WhenAll(flood.Append(other)).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(PoolRejectedException.QueueFull, refused.Reason);
        // Queued last, the other tenant's request started before every one of the flood's but the first.
        var otherQueued = results[^1].Queued;
        Assert.True(results[..^1].Count(r => r.Queued < otherQueued) <= 1, $"the other tenant waited {otherQueued}, the flood {string.Join(", ", results[..^1].Select(r => r.Queued.TotalMilliseconds))}");
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
    }

    [Fact]
    public async Task Streaming_yields_text_as_it_comes_and_it_adds_up_to_the_result()
    {
        await using var pool = Pool();
        var request = new GenerationRequest("Where is my order?", MaxNewTokens: 20);

        var pieces = new List<string>();
        await foreach (var piece in pool.StreamAsync(request))
        {
            pieces.Add(piece);
        }

        var whole = await pool.GenerateAsync(request);
        Assert.True(pieces.Count > 1, "the text came in one piece");
        Assert.Equal(whole.Text, string.Concat(pieces));
    }

    [Fact]
    public async Task A_stop_string_ends_generation_before_it()
    {
        await using var pool = Pool();
        var free = await pool.GenerateAsync(new GenerationRequest("Where is my order?", MaxNewTokens: 30));
        var stop = free.Text.Length > 4 ? free.Text.Substring(free.Text.Length / 2, 2) : null;
        Assert.NotNull(stop);

        var stopped = await pool.GenerateAsync(new GenerationRequest("Where is my order?", MaxNewTokens: 30, StopStrings: [stop]));

        Assert.Equal(FinishReason.StopString, stopped.FinishReason);
        Assert.Equal(free.Text[..free.Text.IndexOf(stop, StringComparison.Ordinal)], stopped.Text);
    }

    [Fact]
    public async Task Drafts_of_one_prompt_run_together_get_what_each_gets_alone()
    {
        // The drafts of a suggestion share their prompt (prefilled once); each still samples on its own.
        await using var pool = Pool();
        var drafts = new[] { SamplingOptions.Greedy }
            .Concat(Enumerable.Range(1, 4).Select(seed => new SamplingOptions(Temperature: 1.5f, TopP: 0.95f, RepetitionPenalty: 1.3f, Seed: seed)))
            .Select(sampling => new GenerationRequest("Where is my order? It has been a week.", 16, sampling))
            .ToList();

        var together = await Task.WhenAll(drafts.Select(d => pool.GenerateAsync(d)));
        var alone = new List<GenerationResult>();
        foreach (var draft in drafts)
        {
            alone.Add(await pool.GenerateAsync(draft));
        }

        Assert.Equal(alone.Select(r => r.Tokens), together.Select(r => r.Tokens));
        Assert.Equal(drafts.Count, together.Select(r => string.Join(',', r.Tokens)).Distinct().Count());
    }

    [Fact]
    public async Task Seeded_sampling_repeats_and_differs_from_greedy()
    {
        await using var pool = Pool();
        var sampling = new SamplingOptions(Temperature: 1.5f, TopK: 50, TopP: 0.95f, RepetitionPenalty: 1.1f, Seed: 7);

        var first = await pool.GenerateAsync(new GenerationRequest("Hello", 24, sampling));
        var second = await pool.GenerateAsync(new GenerationRequest("Hello", 24, sampling));
        var greedy = await pool.GenerateAsync(new GenerationRequest("Hello", 24));

        Assert.Equal(first.Tokens, second.Tokens);
        Assert.NotEqual(greedy.Tokens, first.Tokens);
    }

    [Theory]
    [InlineData("", 10, 0f, 1f, "prompt is empty")]
    [InlineData("Hi", 0, 0f, 1f, "maxNewTokens must be at least 1")]
    [InlineData("Hi", 10, -1f, 1f, "temperature")]
    [InlineData("Hi", 10, 0f, 0f, "topP")]
    [InlineData("Hi", 3000, 0f, 1f, "context of 2048")]
    public async Task Invalid_requests_are_refused_saying_what_is_wrong(string prompt, int maxNewTokens, float temperature, float topP, string expected)
    {
        await using var pool = Pool();

        var refused = pool.GenerateAsync(new GenerationRequest(prompt, maxNewTokens, new SamplingOptions(temperature, TopP: topP)));
        Assert.True(refused.IsCompleted);
        var error = await Assert.ThrowsAsync<ArgumentException>(() => refused);

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    public void Dispose() => _model.Dispose();
}
