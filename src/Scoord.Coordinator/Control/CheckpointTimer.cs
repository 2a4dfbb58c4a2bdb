using System.Globalization;
using Microsoft.Extensions.Logging;
using Scoord.Journal;

namespace Scoord.Coordinator.Control;

/// <summary>
/// `scoord run --checkpoint-every DURATION`: takes a checkpoint named <c>auto-N</c> every interval while
/// the application runs, through the same <see cref="ICheckpointTaker"/> as the control socket, on a
/// thread of its own. N counts from 1 and skips names already in the journal (an earlier run's).
/// The interval is measured from the end of one checkpoint to the start of the next.
/// </summary>
public sealed partial class CheckpointTimer : PeriodicThread
{
    private readonly ICheckpointTaker _taker;
    private readonly Func<IReadOnlyCollection<string>> _existingNames;
    private readonly ILogger _logger;
    private int _next = 1;
    private bool _warned;

    private CheckpointTimer(TimeSpan interval, ICheckpointTaker taker, Func<IReadOnlyCollection<string>> existingNames, ILogger logger)
        : base(interval, "scoord-checkpoint-timer")
    {
        _taker = taker;
        _existingNames = existingNames;
        _logger = logger;
    }

    /// <param name="existingNames">The checkpoint names already in the journal (read when a name is chosen).</param>
    public static CheckpointTimer Start(TimeSpan interval, ICheckpointTaker taker, Func<IReadOnlyCollection<string>> existingNames, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(taker);
        ArgumentNullException.ThrowIfNull(existingNames);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        var timer = new CheckpointTimer(interval, taker, existingNames, logger);
        timer.StartThread();
        return timer;
    }

    /// <summary>Checkpoints taken so far.</summary>
    public int Taken { get; private set; }

    protected override void Round()
    {
        string name = NextName();
        try
        {
            CheckpointInfo c = _taker.TakeCheckpoint(name);
            Taken++;
            LogTaken(_logger, c.Id, c.Name, c.Seq);
        }
        catch (ScoordException e)
        {
            if (!_warned)
            {
                _warned = true;
                LogFailed(_logger, name, e.Message);
            }
            else
            {
                LogFailedAgain(_logger, name, e.Message);
            }
        }
    }

    private string NextName()
    {
        IReadOnlyCollection<string> taken;
        try
        {
            taken = _existingNames();
        }
        catch (ScoordException)
        {
            taken = [];
        }

        var set = new HashSet<string>(taken, StringComparer.Ordinal);
        string name;
        do
        {
            name = "auto-" + _next.ToString(CultureInfo.InvariantCulture);
            _next++;
        }
        while (set.Contains(name));
        return name;
    }

    [LoggerMessage(EventId = 220, Level = LogLevel.Information, Message = "checkpoint {Id} '{Name}' taken at seq {Seq} (--checkpoint-every)")]
    private static partial void LogTaken(ILogger logger, int id, string name, ulong seq);

    [LoggerMessage(EventId = 221, Level = LogLevel.Warning, Message = "--checkpoint-every: checkpoint '{Name}' failed: {Message}")]
    private static partial void LogFailed(ILogger logger, string name, string message);

    [LoggerMessage(EventId = 222, Level = LogLevel.Debug, Message = "--checkpoint-every: checkpoint '{Name}' failed: {Message}")]
    private static partial void LogFailedAgain(ILogger logger, string name, string message);
}
