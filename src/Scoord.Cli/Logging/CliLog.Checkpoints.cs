using Microsoft.Extensions.Logging;

namespace Scoord.Cli.Logging;

internal static partial class CliLog
{
    [LoggerMessage(EventId = 9030, Level = LogLevel.Information, Message = "checkpoint: a coordinator runs (pid {Pid}); asking it through the control socket")]
    public static partial void CheckpointThroughCoordinator(this ILogger logger, int pid);

    [LoggerMessage(EventId = 9031, Level = LogLevel.Information, Message = "checkpoint: no coordinator runs; writing the checkpoint into the journal directly")]
    public static partial void CheckpointOffline(this ILogger logger);

    [LoggerMessage(EventId = 9032, Level = LogLevel.Information, Message = "checkpoint {Id} '{Name}' taken at seq {Seq}")]
    public static partial void CheckpointTaken(this ILogger logger, int id, string name, ulong seq);

    [LoggerMessage(EventId = 9033, Level = LogLevel.Debug, Message = "checkpoint: the coordinator came or went meanwhile ({Message}); trying again")]
    public static partial void CheckpointRetry(this ILogger logger, string message);
}
