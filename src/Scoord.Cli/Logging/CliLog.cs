using Microsoft.Extensions.Logging;

namespace Scoord.Cli.Logging;

/// <summary>
/// Log messages of the `scoord` command. Event ids 9000-9099 belong to the CLI
/// (docs/cli.md lists the ranges: coordinator and journal use their own).
/// </summary>
internal static partial class CliLog
{
    [LoggerMessage(EventId = 9000, Level = LogLevel.Debug, Message = "scoord {Command}: journal {JournalDirectory}")]
    public static partial void CommandStarting(this ILogger logger, string command, string journalDirectory);

    [LoggerMessage(EventId = 9001, Level = LogLevel.Information, Message = "run: {Program} with {ArgumentCount} argument(s), durability {Durability}, checkpoint every {CheckpointEvery}")]
    public static partial void RunStarting(this ILogger logger, string program, int argumentCount, string durability, string checkpointEvery);

    [LoggerMessage(EventId = 9002, Level = LogLevel.Information, Message = "run: program exited with status {ExitStatus}")]
    public static partial void RunFinished(this ILogger logger, int exitStatus);

    [LoggerMessage(EventId = 9010, Level = LogLevel.Debug, Message = "log: {Printed} of {Read} operation(s) printed")]
    public static partial void LogPrinted(this ILogger logger, long printed, long read);

    [LoggerMessage(EventId = 9011, Level = LogLevel.Debug, Message = "log --follow: coordinator {State}, last seq {LastSeq}")]
    public static partial void FollowPoll(this ILogger logger, string state, ulong lastSeq);

    [LoggerMessage(EventId = 9012, Level = LogLevel.Information, Message = "log --follow: interrupted")]
    public static partial void FollowInterrupted(this ILogger logger);

    [LoggerMessage(EventId = 9020, Level = LogLevel.Information, Message = "demo: tree {TreeDirectory}, journal {JournalDirectory}")]
    public static partial void DemoDirectories(this ILogger logger, string treeDirectory, string journalDirectory);

    [LoggerMessage(EventId = 9090, Level = LogLevel.Debug, Message = "standard output was closed; stopping quietly")]
    public static partial void OutputClosed(this ILogger logger);

    [LoggerMessage(EventId = 9091, Level = LogLevel.Debug, Message = "scoord error")]
    public static partial void ErrorDetails(this ILogger logger, Exception exception);

    [LoggerMessage(EventId = 9092, Level = LogLevel.Debug, Message = "internal error")]
    public static partial void InternalError(this ILogger logger, Exception exception);
}
