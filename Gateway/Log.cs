using Microsoft.Extensions.Logging;

namespace CustomerGrains.Gateway;

/// <summary>Gateway log messages (event ids 2000-2999).</summary>
internal static partial class Log
{
    [LoggerMessage(2000, LogLevel.Warning, "Rejected a {Provider} webhook for connection {ConnectionId}: {Reason}")]
    public static partial void WebhookRejected(ILogger logger, string provider, string connectionId, string reason);

    [LoggerMessage(2001, LogLevel.Debug, "Stored {Stored} of {Events} event(s) from a {Provider} webhook for connection {ConnectionId}")]
    public static partial void WebhookStored(ILogger logger, int stored, int events, string provider, string connectionId);

    [LoggerMessage(2010, LogLevel.Warning, "Delivering {Count} inbox row(s) failed; they will be re-delivered")]
    public static partial void DeliveryFailed(ILogger logger, int count, Exception exception);

    [LoggerMessage(2014, LogLevel.Warning, "{Count} inbox row(s) did not fit in the delivery queue ({Max} rows) since the last report; the poller delivers them")]
    public static partial void QueueFull(ILogger logger, long count, int max);

    [LoggerMessage(2011, LogLevel.Warning, "Polling the inbox failed; retrying next interval")]
    public static partial void PollFailed(ILogger logger, Exception exception);

    [LoggerMessage(2012, LogLevel.Information, "Inbox row {Id} failed (attempt {Attempt}); retrying after a back-off: {Error}")]
    public static partial void WillRetry(ILogger logger, long id, int attempt, string error);

    [LoggerMessage(2013, LogLevel.Error, "Inbox row {Id} set aside as poison after {Attempts} attempts: {Error}")]
    public static partial void Poisoned(ILogger logger, long id, int attempts, string error);

    [LoggerMessage(2015, LogLevel.Information, "Stopping: {Count} inbox rows this silo had not delivered are handed to the other silos")]
    public static partial void HandedOver(ILogger logger, int count);

    [LoggerMessage(2016, LogLevel.Information, "Moved {Count} identities of tenant {TenantId} from {From} to their connection's namespace {To}")]
    public static partial void IdentitiesMoved(ILogger logger, int count, string tenantId, string from, string to);

    [LoggerMessage(2050, LogLevel.Warning, "Reply {ReplyId} to {Provider} not sent (attempt {Attempt}, given up: {GivenUp}): {Error}")]
    public static partial void ReplyNotSent(ILogger logger, string replyId, string provider, int attempt, bool givenUp, string error);

    [LoggerMessage(2051, LogLevel.Warning, "Reply {ReplyId} was sent but not added to the customer's history; the CRM's echo will add it")]
    public static partial void ReplyNotRecorded(ILogger logger, string replyId, Exception exception);

    [LoggerMessage(2053, LogLevel.Warning, "Reply {ReplyId} was sent but what was done with its suggestion {SuggestionId} was not recorded")]
    public static partial void ReplySuggestionNotRecorded(ILogger logger, string replyId, string suggestionId, Exception exception);

    [LoggerMessage(2052, LogLevel.Warning, "Looking for replies to send failed; trying again")]
    public static partial void ReplyPollFailed(ILogger logger, Exception exception);

    [LoggerMessage(2030, LogLevel.Warning, "Sending escalation notifications failed; retrying next interval")]
    public static partial void NotifierFailed(ILogger logger, Exception exception);

    [LoggerMessage(2040, LogLevel.Error, "{Method} {Path} failed with {Status}")]
    public static partial void RequestFailed(ILogger logger, string method, string path, int status, Exception exception);

    [LoggerMessage(2020, LogLevel.Warning, "Writing the audit record failed for {Action} by {Actor}")]
    public static partial void AuditFailed(ILogger logger, string action, string actor, Exception exception);

    [LoggerMessage(2060, LogLevel.Information, "{Kind} of connection {ConnectionId} ended: {Conversations} conversation(s), {Messages} message(s), {Queued} new; {Error}")]
    public static partial void HistoryRunEnded(ILogger logger, History.HistoryKind kind, string connectionId, int conversations, int messages, int queued, string error);

    [LoggerMessage(2062, LogLevel.Warning, "Conversation {ConversationId} of connection {ConnectionId} was passed over: {Reason}")]
    public static partial void HistoryConversationSkipped(ILogger logger, string conversationId, string connectionId, string reason);

    [LoggerMessage(2061, LogLevel.Warning, "Running history imports failed; trying again")]
    public static partial void HistoryPollFailed(ILogger logger, Exception exception);
}
