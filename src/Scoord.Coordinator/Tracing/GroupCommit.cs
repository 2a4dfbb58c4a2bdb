using Scoord.Coordinator.Faults;
using Scoord.Coordinator.Ingest;
using Scoord.Interceptors;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Tracing;

/// <summary>
/// Group commit: tracees whose intents are in the batch wait here (deferred); <see cref="Flush"/> writes
/// the whole batch as one RocksDB write and only then resumes them into their syscalls, so an INTENT is
/// always in the journal before its syscall runs. A journal that cannot grow (ENOSPC on the WAL, or any
/// other failed write) discards the batch: every tracee whose intent was in it is refused with the
/// write's errno instead of being resumed (no mutation proceeds without its undo record); completions in
/// the discarded batch are lost and read back as pending. Later batches are tried again.
/// </summary>
internal sealed class GroupCommit(JournalIngest ingest, TraceeTable tracees, TraceeResumer resumer, InFlightOps inFlight, Durability durability)
{
    public const int MaxBatch = 256;

    private readonly int[] _deferred = new int[MaxBatch];
    private int _deferredCount;

    /// <summary>The batch holds an op that is a sync point of the app (sync-points durability): commit it with a WAL fsync.</summary>
    private bool _syncPoint;

    /// <summary>Records are buffered or tracees wait: the loop polls for more stops, then flushes.</summary>
    public bool IsOpen => _deferredCount > 0 || ingest.PendingRecords > 0;

    public bool IsFull => _deferredCount == MaxBatch;

    /// <summary><paramref name="t"/>'s intent is in the batch: it enters its syscall after the commit, and stops at its exit.</summary>
    public void Defer(Tracee t)
    {
        t.State = TraceeState.InJournaledSyscall;
        _deferred[_deferredCount++] = t.Tid;
    }

    public void MarkSyncPoint() => _syncPoint = true;

    /// <summary><paramref name="t"/>'s intent was dropped (a fault of scoord's at its stop): it is no longer resumed by the commit.</summary>
    public void Undefer(Tracee t)
    {
        for (int i = 0; i < _deferredCount; i++)
        {
            if (_deferred[i] == t.Tid)
            {
                _deferred[i] = _deferred[--_deferredCount];
                return;
            }
        }
    }

    /// <summary>One RocksDB write for every record gathered, then resume the tracees that wait for it.</summary>
    public void Flush()
    {
        if (ingest.PendingRecords > 0)
        {
            FaultInjection.Hit(FaultPoint.RunBeforeCommit);
            bool sync = durability == Durability.Strict || _syncPoint;
            _syncPoint = false;
            if (!CommitOrRefuse(sync))
            {
                return;
            }
        }

        if (_deferredCount > 0)
        {
            FaultInjection.Hit(FaultPoint.RunAfterIntent);
        }

        for (int i = 0; i < _deferredCount; i++)
        {
            // Into the syscall, stopping again at its exit for the COMPLETION record.
            ptrace(PTRACE_SYSCALL, _deferred[i], 0, 0);
        }

        _deferredCount = 0;
    }

    /// <summary>Commits the batch; on failure refuses every deferred tracee and returns false.</summary>
    private bool CommitOrRefuse(bool sync)
    {
        if (ingest.TryCommit(sync, out Errno errno, out _))
        {
            return true;
        }

        for (int i = 0; i < _deferredCount; i++)
        {
            if (tracees.TryGet(_deferred[i], out Tracee t))
            {
                RefuseDeferred(t, errno);
            }
        }

        _deferredCount = 0;
        return false;
    }

    /// <summary>The intent of <paramref name="t"/> was discarded: undo the bookkeeping of its op and fail it without running it.</summary>
    private void RefuseDeferred(Tracee t, Errno errno)
    {
        inFlight.Release(t);
        t.Pending.End();
        t.CheckOpenResult = false;
        t.State = TraceeState.Running;
        resumer.Refuse(t, errno);
    }
}
