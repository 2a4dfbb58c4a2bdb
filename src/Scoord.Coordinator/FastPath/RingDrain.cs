using Microsoft.Extensions.Logging;
using Scoord.Interceptors;
using Scoord.Journal;
using Scoord.Journal.Ring;

namespace Scoord.Coordinator.FastPath;

/// <summary>
/// Drains the rings into the journal on a thread of its own, in parallel with the tracer: every slot's
/// published records (INTENT and DONE, in each thread's order) go through <see cref="RingRecords"/> into a
/// batch of its own writer, one RocksDB write per pass, and only then do the slots' tails move (so a crash
/// of scoord at any point loses nothing: what is past a tail is applied again by recovery). The tracer
/// calls <see cref="Flush"/> where the journal must hold everything the hooks published: checkpoint
/// barriers, the app's sync points, the end of the run. Allocates nothing per record.
/// </summary>
internal sealed unsafe partial class RingDrain : IDisposable
{
    private readonly RingFile _ring;
    private readonly JournalWriter _writer;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly byte[] _buffer = new byte[RingLayout.MaxRecord];
    private readonly ulong[] _tails = new ulong[RingLayout.SlotCount];
    private readonly ulong[] _skipped = new ulong[RingLayout.SlotCount];
    private readonly RingReader.WalkState _walk = new();
    private readonly Thread _thread;
    private volatile bool _stop;
    private readonly ManualResetEventSlim _stopping = new(false, spinCount: 0);
    private Action? _wake;
    private Func<bool>? _wakeWanted;
    private bool _failureReported;
    private RingDrainStats _stats;
    private long _passes;

    public RingDrain(RingFile ring, JournalWriter writer, ILogger logger)
    {
        _ring = ring;
        _writer = writer;
        _logger = logger;
        _thread = new Thread(Loop) { Name = "scoord-ring-drain", IsBackground = true };
    }

    /// <summary>Records applied so far.</summary>
    public long Records => Volatile.Read(ref _stats.Records);

    public void Start() => _thread.Start();

    /// <summary>While <paramref name="wanted"/> says so, the drain rings <paramref name="wake"/> (the tracer's doorbell) on each pass.</summary>
    public void WakeWhen(Func<bool> wanted, Action wake)
    {
        _wakeWanted = wanted;
        _wake = wake;
    }

    /// <summary>Everything published so far into the journal, committed (<paramref name="sync"/>: WAL fsync). Any thread.</summary>
    public bool Flush(bool sync, out Errno errno)
    {
        lock (_gate)
        {
            return Pass(sync, out errno) >= 0;
        }
    }

    private void Loop()
    {
        CoordinatorPriority.RaiseCurrentThread(); // behind the hooks, it makes every barrier wait for its backlog
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        int idle = 0;
        while (!_stop)
        {
            int n;
            lock (_gate)
            {
                n = Pass(sync: false, out _);
            }

            bool parked = _wakeWanted is { } wanted && wanted();
            if (parked)
            {
                _wake?.Invoke(); // the tracer has calls parked behind the hooks' claims: let it look again
            }

            if (n > 0)
            {
                idle = 0;

                continue;
            }

            // Nothing published: sleep a little, longer the longer it stays quiet (a ring holds milliseconds of
            // work, and a barrier drains the rings itself): 50 µs, then 1 ms, then 5 ms after about 60 ms of
            // nothing, so an idle program costs 200 wake-ups a second, not thousands. Calls parked behind the
            // hooks' claims keep the short sleeps: their wake-up comes from here.
            idle = parked ? Math.Min(idle + 1, 9) : Math.Min(idle + 1, 60);
            if (idle < 10)
            {
                Scoord.Interceptors.Interop.Libc.usleep(50);
            }
            else
            {
                _stopping.Wait(idle < 60 ? 1 : 5); // a stop ends the sleep at once
            }
        }

        Log.DrainStats(_logger, _stats.Records, _stats.Malformed, _passes, GC.GetAllocatedBytesForCurrentThread() - allocatedBefore);
    }

    /// <summary>One pass over every slot; -1 when the journal could not take the batch (tails stay, the records are read again).</summary>
    private int Pass(bool sync, out Errno errno)
    {
        errno = Errno.None;
        uint hwm = _ring.SlotHighWater;
        long before = _stats.Records;
        bool moved = false;
        for (uint i = 0; i < hwm; i++)
        {
            RingSlot* s = _ring.Slot(i);
            ulong head = Volatile.Read(ref s->Head);
            ulong tail = Volatile.Read(ref s->Tail);
            _tails[i] = tail;
            if (head != tail)
            {
                _tails[i] = RingReader.DrainSlot(_ring, i, tail, head, _buffer, _writer, ref _stats, ref _skipped[i], _walk);
                moved = true;
            }
        }

        if (_writer.PendingRecords > 0 || sync)
        {
            if (_writer.PendingRecords > 0)
            {
                Faults.FaultInjection.Hit(Faults.FaultPoint.DrainBeforeCommit);
            }

            if (!_writer.TryCommit(sync, out Exception? e))
            {
                _stats.Records = before;
                errno = e!.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase) ? Errno.ENOSPC : Errno.EIO;
                if (!_failureReported)
                {
                    _failureReported = true;
                    Log.CommitFailed(_logger, e.Message.ReplaceLineEndings(" "));
                }

                return -1;
            }
        }

        _passes++;
        if (moved)
        {
            for (uint i = 0; i < hwm; i++)
            {
                RingSlot* s = _ring.Slot(i);
                if (_tails[i] != Volatile.Read(ref s->Tail))
                {
                    Volatile.Write(ref s->Tail, _tails[i]);
                }
            }
        }

        FreeDeadSlots(hwm);
        Volatile.Write(ref _ring.Header.Drained, (ulong)_stats.Records);
        return (int)(_stats.Records - before);
    }

    /// <summary>Slots of threads that exited (marked by the tracer) are free again once drained.</summary>
    private void FreeDeadSlots(uint hwm)
    {
        for (uint i = 0; i < hwm; i++)
        {
            RingSlot* s = _ring.Slot(i);
            if ((Volatile.Read(ref s->Flags) & RingLayout.SlotDead) != 0 && Volatile.Read(ref s->Head) == Volatile.Read(ref s->Tail))
            {
                s->State = RingLayout.StateIdle;
                s->Busy = 0;
                s->ClaimCount = 0;
                Volatile.Write(ref s->Flags, RingLayout.SlotReady); // its pages stay allocated
                Volatile.Write(ref s->Owner, 0);
            }
        }
    }

    /// <summary>Stops the drain thread and drains what is left; true when everything published is in the journal.</summary>
    public bool StopAndFlush()
    {
        _stop = true;
        _stopping.Set();
        if (_thread.IsAlive)
        {
            _thread.Join();
        }

        return Flush(sync: false, out _);
    }

    public void Dispose()
    {
        StopAndFlush();
        _writer.Dispose();
        _stopping.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 130, Level = LogLevel.Warning, Message = "the fast path's records cannot be written to the journal ({Reason}); they stay in the ring and are tried again")]
        public static partial void CommitFailed(ILogger logger, string reason);

        /// <summary>Read by the allocation test: the drain allocates nothing per record.</summary>
        [LoggerMessage(EventId = 131, Level = LogLevel.Debug, Message = "ring drain: {Records} records, {Malformed} malformed, {Passes} passes, {Bytes} bytes allocated on the drain thread")]
        public static partial void DrainStats(ILogger logger, long records, long malformed, long passes, long bytes);
    }
}
