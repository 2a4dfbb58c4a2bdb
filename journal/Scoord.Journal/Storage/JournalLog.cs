using Microsoft.Extensions.Logging;

namespace Scoord.Journal;

/// <summary>Log messages of the journal. Event ids 3000-3099 belong to the journal.</summary>
internal static partial class JournalLog
{
    [LoggerMessage(EventId = 3000, Level = LogLevel.Information, Message = "created journal {Directory} (id {JournalId})")]
    public static partial void Created(this ILogger logger, string directory, Guid journalId);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "opened journal {Directory}: last seq {LastSeq}")]
    public static partial void Opened(this ILogger logger, string directory, ulong lastSeq);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Debug, Message = "closed journal {Directory}: {BytesWritten} bytes written")]
    public static partial void Closed(this ILogger logger, string directory, long bytesWritten);
}
