using Microsoft.Extensions.Logging;
using Orleans.Streams;

namespace CustomerGrains.Grains;

/// <summary>What is stored in the grain's state row (JSON through Orleans' grain storage serializer, which resolves
/// only types it knows: hence the serializer attributes); the history lives in its own table.</summary>
[GenerateSerializer, Alias("cg.CustomerState")]
public sealed class CustomerState
{
    [Id(0)]
    public bool Exists { get; set; }

    [Id(1)]
    public string? Name { get; set; }

    [Id(2)]
    public List<string> Emails { get; set; } = [];

    [Id(3)]
    public List<string> Phones { get; set; } = [];

    [Id(4)]
    public string? Language { get; set; }

    [Id(5)]
    public string? Timezone { get; set; }

    [Id(6)]
    public Dictionary<string, string> Attributes { get; set; } = [];

    [Id(7)]
    public Preferences Preferences { get; set; } = Preferences.Default;
}

/// <summary>
/// One customer. The state row holds the profile and preferences; interactions are appended to
/// <c>customer_interactions</c> (idempotent by source and event id) and the figures the segment rules use are
/// derived from that history, so a retried append can never count twice.
/// </summary>
[GrainType("customer")]
public sealed class CustomerGrain(
    [PersistentState("customer", GrainStorage.Name)] IPersistentState<CustomerState> state,
    CustomerStore store,
    SegmentCatalog segments,
    Suggestions.SuggestionComposer suggestions,
    TimeProvider time,
    ILogger<CustomerGrain> logger) : Grain, ICustomerGrain
{
    /// <summary>Turns kept verbatim in memory and in the context.</summary>
    public const int RecentWindow = 20;

    /// <summary>Older turns read at activation for the extractive summary.</summary>
    public const int SummarySource = 60;

    /// <summary>A turn's text in the context is cut to this many characters.</summary>
    public const int MaxTurnLength = 2000;

    /// <summary>At most this many attributes are kept per customer.</summary>
    public const int MaxAttributes = 50;

    private const string LifetimeValueAttribute = "lifetime_value";

    private readonly List<Interaction> _recent = []; // oldest first
    private readonly List<ExternalIdentity> _identities = [];
    private string _tenantId = "";
    private string _customerId = "";
    private readonly Summarizer _summary = new();
    private int _count;
    private int _countLast30Days;
    private DateTimeOffset? _firstSeen;
    private DateTimeOffset? _lastSeen;
    private double _sentimentSum;
    private int _sentimentCount;
    private bool _profileUnsaved;
    private DateTimeOffset _watchedUntil = DateTimeOffset.MinValue;

    // A customer the directory has linked an identity to is known, even before its first interaction arrives.
    private bool Known => state.State.Exists || _count > 0 || _identities.Count > 0;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_tenantId, _customerId) = CustomerKey.Parse(this.GetPrimaryKeyString());
        var history = await store.LoadAsync(_tenantId, _customerId, RecentWindow + SummarySource);
        _identities.AddRange(history.Identities);
        _recent.AddRange(history.NewestFirst.Take(RecentWindow).Reverse());
        _summary.Reset(history.NewestFirst.Skip(RecentWindow), Math.Max(0, history.Count - RecentWindow));
        (_count, _countLast30Days, _firstSeen, _lastSeen) = (history.Count, history.CountLast30Days, history.FirstSeen, history.LastSeen);
        (_sentimentSum, _sentimentCount) = (history.SentimentSum, history.SentimentCount);

        // A customer last stored by the runtime before Orleans moves its profile and preferences over, once.
        if (!state.RecordExists && await store.ReadLegacyStateAsync(this.GetPrimaryKeyString()) is { } legacy)
        {
            state.State = legacy;
            await state.WriteStateAsync(cancellationToken);
            await store.DeleteLegacyStateAsync(this.GetPrimaryKeyString());
        }
    }

    public async Task<AppendResult> AppendAsync(AppendRequest request)
    {
        var interaction = Validate(request.Interaction);

        // The facts are merged first, so that the directory row written with the append carries them; until the
        // state is written, the profile counts as unsaved (a failed append leaves it for the next one to write).
        _profileUnsaved |= Merge(request.Facts) || !state.State.Exists;
        var seq = await store.AppendAsync(_tenantId, _customerId, interaction, request.InboxId, state.State);
        foreach (var identity in request.Identities.Select(CustomerDirectoryGrain.Normalize))
        {
            if (!_identities.Contains(identity))
            {
                _identities.Add(identity);
            }
        }

        if (seq > 0)
        {
            Record(interaction);
            if (time.GetUtcNow() < _watchedUntil)
            {
                await PublishAsync(new StoredInteraction(seq, interaction));
            }
        }

        if (_profileUnsaved)
        {
            state.State.Exists = true;
            await state.WriteStateAsync();
            _profileUnsaved = false;
        }

        return new AppendResult(seq > 0, _count);
    }

    /// <summary>Tells live views (the console's open customer) of a stored interaction. Best effort: the interaction is
    /// stored, and a view that misses it reads it by its sequence number (the gateway's event stream does).</summary>
    private async Task PublishAsync(StoredInteraction stored)
    {
        try
        {
            await this.GetStreamProvider(LiveStreams.Provider).GetStream<StoredInteraction>(LiveStreams.Customer(_tenantId, _customerId)).OnNextAsync(stored);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.PublishFailed(logger, _tenantId, _customerId, ex);
        }
    }

    public Task<ConversationPage> GetConversationAsync(string? before, int limit) =>
        limit is < 1 or > ConversationPage.MaxLimit
            ? Task.FromException<ConversationPage>(new ArgumentException($"limit must be 1 to {ConversationPage.MaxLimit}, not {limit}."))
            : store.PageAsync(_tenantId, _customerId, ConversationCursor.Parse(before), limit);

    public Task WatchAsync()
    {
        _watchedUntil = time.GetUtcNow() + LiveStreams.WatchLease;
        return Task.CompletedTask;
    }

    public async Task<IReadOnlyList<StoredInteraction>> GetSinceAsync(long seq) =>
        await store.SinceAsync(_tenantId, _customerId, seq, ConversationPage.MaxLimit);

    public Task<CustomerContext> GetContextAsync() =>
        Known ? Task.FromResult(BuildContext()) : Task.FromException<CustomerContext>(NotFound());

    public async Task<Preferences> UpdatePreferencesAsync(PreferencesPatch patch)
    {
        if (!Known)
        {
            throw NotFound();
        }

        var current = state.State.Preferences;
        var updated = new Preferences(
            Clean(patch.Channel) ?? current.Channel,
            Clean(patch.Tone) ?? current.Tone,
            Clean(patch.Language) ?? current.Language,
            patch.DoNotContact ?? current.DoNotContact,
            patch.Topics is { } topics ? topics.Select(t => t.Trim()).Where(t => t.Length > 0).Distinct(StringComparer.OrdinalIgnoreCase).Take(MaxAttributes).ToList() : current.Topics);
        state.State.Preferences = updated;
        await state.WriteStateAsync();
        return updated;
    }

    public async Task<bool> EraseAsync()
    {
        if (!Known)
        {
            return false;
        }

        await store.EraseAsync(_tenantId, _customerId, _identities);
        await state.ClearStateAsync();
        _recent.Clear();
        _identities.Clear();
        _summary.Reset([], 0);
        (_count, _countLast30Days, _firstSeen, _lastSeen, _sentimentSum, _sentimentCount) = (0, 0, null, null, 0, 0);
        DeactivateOnIdle();
        return true;
    }

    public async Task<CustomerExport> ExportAsync()
    {
        if (!Known)
        {
            throw NotFound();
        }

        var history = await store.HistoryAsync(_tenantId, _customerId);
        var inbox = await store.InboxAsync(_tenantId, _customerId, _identities);
        return new CustomerExport(BuildContext(), history, inbox);
    }

    public Task<SuggestionResult> SuggestAsync(SuggestionRequest request, CancellationToken cancellationToken = default) =>
        Known ? suggestions.SuggestAsync(GrainFactory, BuildContext(), request, cancellationToken) : Task.FromException<SuggestionResult>(NotFound());

    public async IAsyncEnumerable<SuggestionEvent> StreamSuggestionsAsync(SuggestionRequest request, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (!Known)
        {
            throw NotFound();
        }

        // The composer writes events as they come; this turn reads them out until the final record, which ends the
        // stream (a draft's piece written as the record is decided is not shown after it).
        var events = System.Threading.Channels.Channel.CreateUnbounded<SuggestionEvent>();
        var composing = suggestions.SuggestAsync(GrainFactory, BuildContext(), request, cancellationToken, events.Writer);
        _ = composing.ContinueWith(task => events.Writer.TryComplete(task.Exception?.InnerException), TaskScheduler.Current);
        await foreach (var item in events.Reader.ReadAllAsync(cancellationToken))
        {
            yield return item;
            if (item.Result is not null)
            {
                break;
            }
        }

        await composing;
    }

    private CustomerContext BuildContext()
    {
        var profile = state.State;
        var stats = new CustomerStats(
            _count,
            _countLast30Days,
            _firstSeen,
            _lastSeen,
            _sentimentCount > 0 ? _sentimentSum / _sentimentCount : null,
            profile.Attributes.TryGetValue(LifetimeValueAttribute, out var ltv) && decimal.TryParse(ltv, System.Globalization.CultureInfo.InvariantCulture, out var value) ? value : null);
        var (segment, reason) = segments.Explain(_tenantId, stats, profile.Attributes, time.GetUtcNow());
        return new CustomerContext(
            _tenantId,
            _customerId,
            new CustomerProfile(profile.Name, [.. profile.Emails], [.. profile.Phones], profile.Language, profile.Timezone, new Dictionary<string, string>(profile.Attributes)),
            [.. _identities],
            segment,
            profile.Preferences,
            stats,
            _recent.Select(t => t.Text.Length <= MaxTurnLength ? t : t with { Text = t.Text[..MaxTurnLength] + "…" }).ToList(),
            _summary.ToString(),
            reason);
    }

    private void Record(Interaction interaction)
    {
        _count++;
        if (interaction.OccurredAt > time.GetUtcNow().AddDays(-30))
        {
            _countLast30Days++;
        }

        _firstSeen = _firstSeen is { } first && first <= interaction.OccurredAt ? first : interaction.OccurredAt;
        _lastSeen = _lastSeen is { } last && last >= interaction.OccurredAt ? last : interaction.OccurredAt;
        if (interaction is { Direction: InteractionDirection.Inbound, Sentiment: { } sentiment })
        {
            _sentimentSum += sentiment;
            _sentimentCount++;
        }

        // Keep the window in time order even when a CRM delivers out of order.
        var at = _recent.FindLastIndex(t => t.OccurredAt <= interaction.OccurredAt) + 1;
        _recent.Insert(at, interaction);
        if (_recent.Count > RecentWindow)
        {
            _summary.Add(_recent[0]);
            _recent.RemoveAt(0);
        }
    }

    /// <summary>Merges what an event says into the profile; true when anything changed.</summary>
    private bool Merge(CustomerFacts facts)
    {
        var profile = state.State;
        var changed = false;
        if (Clean(facts.Name) is { } name && name != profile.Name)
        {
            profile.Name = name;
            changed = true;
        }

        if (Clean(facts.Email)?.ToLowerInvariant() is { } email && !profile.Emails.Contains(email))
        {
            profile.Emails.Add(email);
            changed = true;
        }

        if (Clean(facts.Phone) is { } phone && !profile.Phones.Contains(phone))
        {
            profile.Phones.Add(phone);
            changed = true;
        }

        if (Clean(facts.Language) is { } language && language != profile.Language)
        {
            profile.Language = language;
            changed = true;
        }

        if (Clean(facts.Timezone) is { } timezone && timezone != profile.Timezone)
        {
            profile.Timezone = timezone;
            changed = true;
        }

        foreach (var (key, value) in facts.Attributes ?? new Dictionary<string, string>())
        {
            if ((profile.Attributes.ContainsKey(key) || profile.Attributes.Count < MaxAttributes)
                && (!profile.Attributes.TryGetValue(key, out var existing) || existing != value))
            {
                profile.Attributes[key] = value;
                changed = true;
            }
        }

        return changed;
    }

    private static Interaction Validate(Interaction interaction)
    {
        if (string.IsNullOrWhiteSpace(interaction.Source) || string.IsNullOrWhiteSpace(interaction.EventId))
        {
            throw new ArgumentException("An interaction needs a source and an event id.");
        }

        if (string.IsNullOrWhiteSpace(interaction.Text))
        {
            throw new ArgumentException("An interaction needs text.");
        }

        if (interaction.Sentiment is < -1 or > 1)
        {
            throw new ArgumentException("Sentiment must be between -1 and 1.");
        }

        return interaction with { Channel = string.IsNullOrWhiteSpace(interaction.Channel) ? "unknown" : interaction.Channel.Trim().ToLowerInvariant() };
    }

    private static string? Clean(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private NotFoundException NotFound() => new($"No customer '{_customerId}'.");
}
