using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading.Channels;
using Microsoft.Extensions.Configuration;
using Npgsql;

namespace CustomerGrains.Grains.Suggestions;

/// <summary>A tenant's assistant settings (<c>Tenants:{id}:Assistant</c>): tone, brand rules, and the model to use.</summary>
public sealed record AssistantSettings(string Tone, string BrandRules, string Model)
{
    public static AssistantSettings For(IConfiguration configuration, string tenantId)
    {
        var section = configuration.GetSection($"Tenants:{tenantId}:Assistant");
        return new AssistantSettings(section["Tone"] ?? "friendly and concise", section["BrandRules"] ?? "", section["Model"] ?? "default");
    }
}

/// <summary>
/// Builds reply suggestions for one customer: retrieves knowledge-base entries and past accepted replies, masks
/// personal data, prompts the model with the customer's context, the tenant's tone and brand rules and the numbered
/// sources, and restores the data in the drafts. Within the deadline: when the model is absent, failing or too slow,
/// the retrieved answers themselves come back, marked degraded with the reason. Every suggestion is audited.
/// </summary>
public sealed partial class SuggestionComposer(NpgsqlDataSource database, SuggestionAudit audit, IConfiguration configuration, TimeProvider time)
{
    public const int MaxCount = 5;
    private const int MaxNewTokens = 96;
    private const int MaxSources = 5;
    private const int RecentTurns = 6;

    /// <param name="events">Where to write the suggestions as they are made (a stream to the agent): the retrieved
    /// answers at once, drafts piece by piece, the final record. Null: only the final record, returned.</param>
    public async Task<SuggestionResult> SuggestAsync(
        IGrainFactory grains, CustomerContext context, SuggestionRequest request, CancellationToken cancellationToken = default, ChannelWriter<SuggestionEvent>? events = null)
    {
        var started = time.GetTimestamp();
        if (request.Count is < 1 or > MaxCount)
        {
            throw new ArgumentException($"count must be 1 to {MaxCount}, not {request.Count}.");
        }

        if (request.DeadlineMs is < 50 or > 30_000)
        {
            throw new ArgumentException($"deadlineMs must be 50 to 30000, not {request.DeadlineMs}.");
        }

        var message = !string.IsNullOrWhiteSpace(request.Message)
            ? request.Message.Trim()
            : context.Recent.LastOrDefault(t => t.Direction == InteractionDirection.Inbound)?.Text
              ?? throw new ArgumentException("There is no message to answer: send one, or ingest the customer's message first.");
        var deadline = TimeSpan.FromMilliseconds(request.DeadlineMs);
        var language = RetrievedReply.LanguageOf(context.Preferences.Language, context.Profile.Language, message);
        var assistant = AssistantSettings.For(configuration, context.TenantId);

        // Retrieval first: it is what a degraded answer stands on.
        var masker = new PiiMasker(context.Profile.Name);
        var maskedMessage = masker.Mask(message);
        var searching = grains.GetGrain<IKnowledgeBaseGrain>(context.TenantId).SearchAsync(message, 8); // both at once: the first event waits on them
        var replies = await PastRepliesAsync(context.TenantId, context.CustomerId, maskedMessage, masker);
        var entries = await searching;
        var sources = await RankAsync(context.TenantId, entries
            .Select(e => new Source(e.EntryId, masker.Mask($"Q: {e.Question} A: {e.Answer}"), e.Answer, e.Score, e.Language))
            .Concat(replies)
            .ToList());
        var prompt = BuildPrompt(context, masker, maskedMessage, sources, assistant, language, RecentTurns, summary: true);

        // The retrieved answers, fitted to the customer: shown at once when streaming, and what stands alone when the
        // model cannot answer. Answers in the customer's language; when none is, those in the language the message is
        // written in, else in any: marked with their language, for the agent to see before sending (a Portuguese
        // speaker writing in English is better served by the English answer than by nothing).
        var written = TextLanguage.Detect(message);
        var (retrievedFrom, retrievedIn) = InLanguage(sources, language) is { Count: > 0 } theirs ? (theirs, language)
            : InLanguage(sources, written) is { Count: > 0 } asWritten ? (asWritten, written)
            : (sources, (string?)null);

        // What the agents already told the customer is not offered again (the prompt asks the model the same).
        var sentByAgents = RetrievedReply.WordsOf(context.Recent.Where(t => t.Direction == InteractionDirection.Outbound && !t.FromBot).Select(t => t.Text));
        var retrieved = retrievedFrom
            .Where(s => !RetrievedReply.AlreadySent(s.Text, sentByAgents))
            .OrderByDescending(s => s.Score)
            .Take(request.Count)
            .Select(s =>
            {
                var answerLanguage = retrievedIn ?? s.Language ?? TextLanguage.Detect(s.Text);
                return new Suggestion(
                    NewId(), RetrievedReply.Fit(s.Text, context.Profile.Name, answerLanguage, context.Preferences.Tone, message), SuggestionKind.Retrieved, [s.Id], Math.Round(s.Score, 4),
                    Unverified: false, Language: string.Equals(answerLanguage, language, StringComparison.OrdinalIgnoreCase) ? null : answerLanguage);
            })
            .ToList();
        events?.TryWrite(new SuggestionEvent("retrieved", Suggestions: retrieved));

        List<Suggestion> suggestions;
        string? reason = null;
        var remaining = deadline - time.GetElapsedTime(started);
        if (remaining < TimeSpan.FromMilliseconds(20))
        {
            reason = $"The deadline of {request.DeadlineMs} ms was reached before the model could run.";
            suggestions = [];
        }
        else
        {
            // Drafts still running when the result is decided (the deadline passed, or another draft failed) are
            // stopped: the model's time goes to other asks, and nothing follows the final record.
            using var drafting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            try
            {
                var model = grains.GetGrain<IInferenceGrain>(assistant.Model);
                (prompt, sources) = await FitAsync(model, assistant, context, masker, maskedMessage, sources, language);
                remaining = deadline - time.GetElapsedTime(started);
                if (remaining <= TimeSpan.Zero)
                {
                    throw new TimeoutException();
                }

                var drafts = Enumerable.Range(0, request.Count).Select(i =>
                {
                    var draft = new InferenceRequest(
                        "",
                        MaxNewTokens,
                        Temperature: i == 0 ? 0 : 0.8f,
                        TopP: 0.95f,
                        Seed: i,
                        StopStrings: [Inference.Chat.ChatMl.EndOfTurn],
                        Deadline: time.GetUtcNow() + remaining,
                        Tenant: context.TenantId,
                        Messages: prompt);
                    return events is null
                        ? GenerateTextAsync(model, draft, drafting.Token)
                        : StreamDraftAsync(model, draft, i, language, events, drafting.Token);
                });
                var texts = await Task.WhenAll(drafts).WaitAsync(remaining, time);
                var generated = texts.Select(text => Generated(text, masker, sources)).ToList();
                suggestions = generated.Where(s => Usable(s.Text, language) && !RetrievedReply.AlreadySent(s.Text, sentByAgents)).ToList();
                if (suggestions.Count == 0)
                {
                    reason = $"The model's {generated.Count} draft(s) were not usable text (empty, broken characters, not in {LanguageName(language)}, or what the agents already sent).";
                }
            }
            catch (TimeoutException)
            {
                reason = $"The model did not answer within the deadline of {request.DeadlineMs} ms.";
                suggestions = [];
            }
            catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or SiloUnavailableException
                                       or Inference.Generation.PoolRejectedException)
            {
                reason = ex is Inference.ModelNotLoadedException
                    ? $"No generative model '{assistant.Model}' is configured (Inference:Models:{assistant.Model}:Path): these are knowledge-base answers fitted to the customer."
                    : $"The model could not answer: {ex.Message}";
                suggestions = [];
            }
            finally
            {
                await drafting.CancelAsync();
            }
        }

        if (reason is not null)
        {
            // Degraded: the retrieved answers stand alone.
            suggestions = retrieved;
            if (suggestions.Count == 0 || retrievedIn != language)
            {
                reason += $" No knowledge-base answer in {LanguageName(language)} matches the message"
                          + (suggestions.Count == 0 ? "." : $"; these are in {(retrievedIn is null ? "other languages" : LanguageName(retrievedIn))}, marked so.");
            }
        }
        else
        {
            suggestions = [.. suggestions, .. retrieved]; // the drafts lead, the retrieved answers back them up
        }

        var latency = time.GetElapsedTime(started).TotalMilliseconds;
        GrainTelemetry.SuggestionDuration.Record(latency / 1000, new("degraded", reason is not null), new("streamed", events is not null));
        var promptHash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\n', prompt.Select(m => $"{m.Role}: {m.Content}")))));
        await audit.RecordShownAsync(context, request, reason is null ? assistant.Model : null, promptHash, maskedMessage, suggestions, reason, latency);
        var shown = sources.Select(s => new SuggestionSource(s.Id, s.Text, Math.Round(s.Score, 4), s.AcceptanceRate is { } rate ? Math.Round(rate, 4) : null)).ToList();
        var result = new SuggestionResult(suggestions, shown, reason is not null, reason, language, reason is null ? assistant.Model : null, Math.Round(latency, 1));
        events?.TryWrite(new SuggestionEvent("result", Result: result));
        return result;
    }

    private static List<Source> InLanguage(IReadOnlyList<Source> sources, string language) =>
        [.. sources.Where(s => s.Language is { } known ? string.Equals(known, language, StringComparison.OrdinalIgnoreCase) : TextLanguage.WrittenIn(s.Text, language))];

    private static async Task<string> GenerateTextAsync(IInferenceGrain model, InferenceRequest draft, CancellationToken cancellationToken) =>
        (await model.GenerateAsync(draft, cancellationToken)).Text;

    /// <summary>Generates draft <paramref name="index"/>, writing each piece to <paramref name="events"/> as it comes (with
    /// personal data still as placeholders: the final record restores them), until the text shows it will not be
    /// usable: then the draft is withdrawn (<c>dropped</c>) and its noise is not shown.</summary>
    private static async Task<string> StreamDraftAsync(
        IInferenceGrain model, InferenceRequest draft, int index, string language, ChannelWriter<SuggestionEvent> events, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        var shown = true;
        await foreach (var piece in model.StreamAsync(draft, cancellationToken))
        {
            text.Append(piece);
            if (!shown)
            {
                continue;
            }

            // Checked before a piece is shown: nothing broken or in another alphabet ever reaches the agent.
            if (!Usable(text.ToString(), language, complete: false))
            {
                shown = false;
                events.TryWrite(new SuggestionEvent("dropped", Draft: index));
            }
            else if (Printable(piece, trim: false) is { Length: > 0 } printable)
            {
                events.TryWrite(new SuggestionEvent("draft", Draft: index, Text: printable));
            }
        }

        return text.ToString();
    }

    private static Suggestion Generated(string text, PiiMasker masker, IReadOnlyList<Source> sources)
    {
        // [S2] in the draft cites the second source; a draft that cites none is unverified.
        var cited = Citation().Matches(text)
            .Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) - 1)
            .Where(i => i >= 0 && i < sources.Count)
            .Distinct()
            .Select(i => sources[i])
            .ToList();
        var confidence = cited.Count > 0 ? cited.Average(s => s.Score) : 0.2;
        return new Suggestion(NewId(), masker.Restore(Printable(text)), SuggestionKind.Generated, cited.Select(s => s.Id).ToList(), Math.Round(confidence, 4), Unverified: cited.Count == 0);
    }

    /// <summary>Whether a draft may be shown to an agent: text, with no character the model left broken (U+FFFD, a
    /// multi-byte character cut by a token), in the customer's alphabet (names and codes in another one aside). A draft
    /// still being written (not <paramref name="complete"/>) need not have a word yet.</summary>
    internal static bool Usable(string draft, string language, bool complete = true)
    {
        var text = Citation().Replace(draft, "");
        return (!complete || text.Any(char.IsLetter)) && !text.Contains('\uFFFD', StringComparison.Ordinal) && TextLanguage.WrittenIn(text, language);
    }

    /// <summary>A model can emit any byte, control characters included (a NUL would not even fit in a PostgreSQL
    /// text column); an agent is shown only printable text and the line breaks.</summary>
    internal static string Printable(string text, bool trim = true)
    {
        var trimmed = trim ? text.Trim() : text;
        if (trimmed.AsSpan().IndexOfAny(Unprintable) < 0)
        {
            return trimmed;
        }

        var clean = new StringBuilder(trimmed.Length);
        foreach (var c in trimmed)
        {
            if (!Unprintable.Contains(c))
            {
                clean.Append(c);
            }
        }

        return trim ? clean.ToString().Trim() : clean.ToString();
    }

    private static readonly SearchValues<char> Unprintable = SearchValues.Create(
        Enumerable.Range(0, 0xA0).Select(i => (char)i).Where(c => char.IsControl(c) && c is not '\n' and not '\t').ToArray());

    /// <summary>
    /// The prompt trimmed to the model's context, room left for the reply: older turns of the conversation go first,
    /// then the weakest sources (one stays), then the summary; a message too long even then is refused (the caller
    /// degrades). Returns the sources the prompt numbers, which citations refer to.
    /// </summary>
    private static async Task<(IReadOnlyList<PromptMessage> Prompt, List<Source> Sources)> FitAsync(
        IInferenceGrain model, AssistantSettings assistant, CustomerContext context, PiiMasker masker, string maskedMessage, List<Source> sources, string? language)
    {
        var (turns, kept, summary) = (RecentTurns, sources, true);
        while (true)
        {
            var prompt = BuildPrompt(context, masker, maskedMessage, kept, assistant, language, turns, summary);
            var count = await model.CountPromptAsync(prompt);
            if (count.Tokens + MaxNewTokens <= count.Context)
            {
                return (prompt, kept);
            }

            if (turns > 0)
            {
                turns = Math.Max(0, turns - 2);
            }
            else if (kept.Count > 1)
            {
                kept = kept[..^1];
            }
            else if (summary)
            {
                summary = false;
            }
            else
            {
                throw new ArgumentException(
                    $"The message is too long for model '{assistant.Model}': alone it makes a prompt of {count.Tokens} tokens, and the model's context holds {count.Context} with the reply's {MaxNewTokens}.");
            }
        }
    }

    /// <summary>The prompt as chat turns, which the model renders in its own format: the system turn with the tenant's
    /// tone and brand rules, the customer's context and the numbered sources; the user turn with the recent conversation
    /// (both sides) and the message. Everything in it is masked.</summary>
    internal static IReadOnlyList<PromptMessage> BuildPrompt(CustomerContext context, PiiMasker masker, string maskedMessage, IReadOnlyList<Source> sources, AssistantSettings assistant, string? language, int turns, bool summary)
    {
        var prompt = new StringBuilder();
        prompt.Append($"You draft replies for {context.TenantId}'s support agents. Tone: {assistant.Tone}.");
        if (assistant.BrandRules.Length > 0)
        {
            prompt.Append($" Brand rules: {assistant.BrandRules}");
        }

        prompt.Append($"\nWrite in {LanguageName(language)}. Answer only from the sources and cite each one you use as [S1], [S2]; if none answers, say a colleague will follow up.");
        prompt.Append(" The conversation shows what the agents already told the customer: do not repeat an answer they gave, and follow up on what they promised.\n");
        var profile = context.Profile;
        var preferences = context.Preferences;
        prompt.Append($"Customer: {masker.Mask(profile.Name ?? "unknown name")}; segment: {context.Segment}");
        if (preferences.Channel is { } channel)
        {
            prompt.Append($"; prefers {channel}");
        }

        if (preferences.Tone is { } tone)
        {
            prompt.Append($"; wants a {tone} tone");
        }

        if (preferences.Topics.Count > 0)
        {
            prompt.Append($"; interested in {string.Join(", ", preferences.Topics)}");
        }

        if (preferences.DoNotContact)
        {
            prompt.Append("; do not offer marketing or follow-up contact");
        }

        prompt.Append(".\n");
        if (summary && context.Summary.Length > 0)
        {
            prompt.Append($"Earlier: {masker.Mask(context.Summary)}\n");
        }

        prompt.Append("Sources:\n");
        for (var i = 0; i < sources.Count; i++)
        {
            prompt.Append($"[S{i + 1}] {sources[i].MaskedText}\n");
        }

        if (sources.Count == 0)
        {
            prompt.Append("(none)\n");
        }

        var system = prompt.ToString();
        prompt.Clear();
        foreach (var turn in context.Recent.TakeLast(turns))
        {
            prompt.Append($"{(turn.Direction == InteractionDirection.Inbound ? "customer" : turn.FromBot ? "bot" : "agent")}: {masker.Mask(turn.Text)}\n");
        }

        prompt.Append($"Message to answer: {maskedMessage}\n");
        return [new PromptMessage(PromptRole.System, system), new PromptMessage(PromptRole.User, prompt.ToString())];
    }

    private static string LanguageName(string? language) => language?.ToLowerInvariant() switch
    {
        null or "" => "the customer's language",
        "en" => "English",
        "de" => "German",
        "ru" => "Russian",
        "uk" => "Ukrainian",
        "fr" => "French",
        "es" => "Spanish",
        "pt" => "Portuguese",
        "it" => "Italian",
        "pl" => "Polish",
        var other => other,
    };

    /// <summary>
    /// Weighs each candidate's match by how agents received the suggestions that rested on it: a factor from 0.5
    /// (always rejected) through 1 (no feedback yet: the rate is smoothed towards a half) to 1.5 (always accepted or
    /// edited). Returns the best <see cref="MaxSources"/>, best first.
    /// </summary>
    private async Task<List<Source>> RankAsync(string tenantId, List<Source> candidates)
    {
        await using var command = database.CreateCommand(
            """
            SELECT source, count(*) FILTER (WHERE outcome IN ('accepted', 'edited')), count(*)
            FROM suggestion_audit, unnest(sources) AS source
            WHERE tenant_id = $1 AND outcome <> 'shown' AND sources && $2 AND source = ANY($2)
            GROUP BY source
            """);
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(candidates.Select(c => c.Id).ToArray());
        var feedback = new Dictionary<string, (long Accepted, long Decided)>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                feedback[reader.GetString(0)] = (reader.GetInt64(1), reader.GetInt64(2));
            }
        }

        return candidates
            .Select(c => feedback.TryGetValue(c.Id, out var f)
                ? c with { Score = c.Score * (0.5 + (f.Accepted + 1.0) / (f.Decided + 2.0)), AcceptanceRate = (double)f.Accepted / f.Decided }
                : c)
            .OrderByDescending(c => c.Score)
            .Take(MaxSources)
            .ToList();
    }

    /// <summary>
    /// Replies agents accepted or edited earlier for this same customer, to similar messages. Only this customer's: a
    /// reply written for another customer carries that customer's name, orders and addresses, which no masking can be
    /// trusted to remove all of; a reply worth reusing for everyone becomes a knowledge-base entry when a senior
    /// promotes it (masked, and reviewed by a person).
    /// </summary>
    private async Task<List<Source>> PastRepliesAsync(string tenantId, string customerId, string maskedMessage, PiiMasker masker)
    {
        await using var command = database.CreateCommand(
            """
            SELECT suggestion_id, coalesce(final_text, text), similarity(lower(message), lower($2)) AS score
            FROM suggestion_audit
            WHERE tenant_id = $1 AND customer_id = $3 AND outcome IN ('accepted', 'edited') AND lower(message) % lower($2)
              AND (kind = 'generated' OR outcome = 'edited') -- a retrieved answer accepted as it stands is its entry's
            ORDER BY score DESC LIMIT 2
            """);
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(maskedMessage);
        command.Parameters.AddWithValue(customerId);
        var replies = new List<Source>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var text = reader.GetString(1);
            replies.Add(new Source(reader.GetString(0), masker.Mask($"An accepted earlier reply: {text}"), text, reader.GetFloat(2), null));
        }

        return replies;
    }

    private static string NewId() => "sg_" + Guid.NewGuid().ToString("N")[..20];

    [GeneratedRegex(@"\[S(\d{1,2})\]")]
    private static partial Regex Citation();

    /// <summary>A retrieved source: its id (kb_... or sg_...), masked text for the prompt, plain text for a degraded
    /// answer, its score weighed by feedback, and the share of its suggestions agents accepted (null before any).</summary>
    internal sealed record Source(string Id, string MaskedText, string Text, double Score, string? Language, double? AcceptanceRate = null);
}
