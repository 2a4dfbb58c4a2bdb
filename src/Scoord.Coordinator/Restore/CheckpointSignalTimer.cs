using System.Globalization;
using Microsoft.Extensions.Logging;
using Scoord.Coordinator.Control;
using Scoord.Interceptors;
using Scoord.Journal;

namespace Scoord.Coordinator.Restore;

/// <summary>
/// `scoord run --checkpoint-every D --checkpoint-signal SIG --app-checkpoint GLOB`: every D, sends SIG to
/// the main program and waits (up to `--checkpoint-timeout`, default 60 s) for the rollback point that
/// `--app-checkpoint` takes when the app finishes writing its checkpoint file in answer. If none comes,
/// one line goes to stderr: <c>scoord: the app wrote no checkpoint file within 60s of SIGUSR1</c>. The
/// interval is measured from the end of one wait to the next signal, so requests never overlap.
/// </summary>
/// <remarks>
/// The timer never stops the app or takes a checkpoint itself: the rollback point is the one the tracer
/// takes at the app's rename or close of the checkpoint file (any new checkpoint except the default-named
/// ones of `scoord checkpoint` counts as the answer).
/// </remarks>
public sealed partial class CheckpointSignalTimer : PeriodicThread
{
    private static readonly TimeSpan s_poll = TimeSpan.FromMilliseconds(50);

    private readonly TimeSpan _timeout;
    private readonly int _signal;
    private readonly Func<int> _mainPid;
    private readonly Func<IReadOnlyList<CheckpointInfo>> _checkpoints;
    private readonly TextWriter _warnings;
    private readonly ILogger _logger;

    private CheckpointSignalTimer(TimeSpan interval, TimeSpan timeout, int signal, Func<int> mainPid,
        Func<IReadOnlyList<CheckpointInfo>> checkpoints, TextWriter warnings, ILogger logger)
        : base(interval, "scoord-checkpoint-signal")
    {
        _timeout = timeout;
        _signal = signal;
        _mainPid = mainPid;
        _checkpoints = checkpoints;
        _warnings = warnings;
        _logger = logger;
    }

    /// <summary>Requests answered with a checkpoint file in time.</summary>
    public int Answered { get; private set; }

    /// <summary>Requests that timed out.</summary>
    public int Missed { get; private set; }

    /// <param name="mainPid">The main program's pid (0 while it is not started yet).</param>
    /// <param name="checkpoints">The journal's checkpoints, oldest first.</param>
    /// <param name="warnings">Where the timeout line goes (stderr).</param>
    public static CheckpointSignalTimer Start(TimeSpan interval, TimeSpan timeout, int signal, Func<int> mainPid,
        Func<IReadOnlyList<CheckpointInfo>> checkpoints, TextWriter warnings, ILogger logger)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        ArgumentNullException.ThrowIfNull(mainPid);
        ArgumentNullException.ThrowIfNull(checkpoints);
        ArgumentNullException.ThrowIfNull(warnings);
        ArgumentNullException.ThrowIfNull(logger);
        var timer = new CheckpointSignalTimer(interval, timeout, signal, mainPid, checkpoints, warnings, logger);
        timer.StartThread();
        return timer;
    }

    /// <summary>The warning printed when the app does not answer: "the app wrote no checkpoint file within 60s of SIGUSR1".</summary>
    public static string TimeoutMessage(TimeSpan timeout, int signal) =>
        $"scoord: the app wrote no checkpoint file within {DurationText(timeout)} of {Signals.Name(signal)}";

    /// <summary>60s, 1.5s, 300ms, 2m.</summary>
    public static string DurationText(TimeSpan d)
    {
        CultureInfo c = CultureInfo.InvariantCulture;
        long ms = (long)Math.Round(d.TotalMilliseconds);
        if (ms % 60_000 == 0 && ms >= 120_000)
        {
            return (ms / 60_000).ToString(c) + "m";
        }

        if (ms % 1000 == 0)
        {
            return (ms / 1000).ToString(c) + "s";
        }

        return ms < 1000 ? ms.ToString(c) + "ms" : (ms / 1000.0).ToString("0.###", c) + "s";
    }

    protected override void Round()
    {
        int pid = _mainPid();
        if (pid <= 0)
        {
            return;
        }

        int baseline = NewestId();
        if (Interop.Libc.kill(pid, _signal) != 0)
        {
            // The program has exited (ESRCH); the run is about to end.
            LogSignalFailed(_logger, Signals.Name(_signal), pid, System.Runtime.InteropServices.Marshal.GetLastPInvokeError());
            return;
        }

        LogSignalSent(_logger, Signals.Name(_signal), pid);
        CheckpointInfo? answer = WaitForAnswer(baseline);
        if (Stopping)
        {
            return;
        }

        if (answer is not null)
        {
            Answered++;
            LogAnswered(_logger, answer.Id, answer.Name, answer.Seq);
        }
        else if (IsAlive(pid))
        {
            Missed++;
            _warnings.WriteLine(TimeoutMessage(_timeout, _signal));
            _warnings.Flush();
        }
    }

    private CheckpointInfo? WaitForAnswer(int baseline)
    {
        long deadline = Environment.TickCount64 + (long)_timeout.TotalMilliseconds;
        while (true)
        {
            CheckpointInfo? found = Answer(baseline);
            if (found is not null)
            {
                return found;
            }

            long left = deadline - Environment.TickCount64;
            if (left <= 0)
            {
                return null;
            }

            if (WaitForStop(TimeSpan.FromMilliseconds(Math.Min(left, (long)s_poll.TotalMilliseconds))))
            {
                return null;
            }
        }
    }

    private int NewestId()
    {
        try
        {
            IReadOnlyList<CheckpointInfo> list = _checkpoints();
            return list.Count == 0 ? 0 : list[^1].Id;
        }
        catch (ScoordException)
        {
            return 0;
        }
    }

    private CheckpointInfo? Answer(int baseline)
    {
        IReadOnlyList<CheckpointInfo> list;
        try
        {
            list = _checkpoints();
        }
        catch (ScoordException)
        {
            return null;
        }

        foreach (CheckpointInfo c in list)
        {
            if (c.Id > baseline && !string.Equals(c.Name, CheckpointNames.Default(c.Id), StringComparison.Ordinal))
            {
                return c;
            }
        }

        return null;
    }

    private static bool IsAlive(int pid) => Interop.Libc.kill(pid, 0) == 0;

    [LoggerMessage(EventId = 240, Level = LogLevel.Debug, Message = "--checkpoint-signal: sent {Signal} to pid {Pid}")]
    private static partial void LogSignalSent(ILogger logger, string signal, int pid);

    [LoggerMessage(EventId = 241, Level = LogLevel.Debug, Message = "--checkpoint-signal: cannot send {Signal} to pid {Pid} (errno {Errno})")]
    private static partial void LogSignalFailed(ILogger logger, string signal, int pid, int errno);

    [LoggerMessage(EventId = 242, Level = LogLevel.Information, Message = "--checkpoint-signal: the app answered with checkpoint {Id} '{Name}' at seq {Seq}")]
    private static partial void LogAnswered(ILogger logger, int id, string name, ulong seq);
}
