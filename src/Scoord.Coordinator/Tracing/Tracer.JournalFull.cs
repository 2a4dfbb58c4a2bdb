using Microsoft.Extensions.Logging;
using Scoord.Interceptors;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Tracing;

/// <summary>
/// A journal that cannot grow (ENOSPC on the WAL, or any other failed RocksDB write). The rule: no
/// mutation proceeds without its undo record. A failed commit discards the whole batch, so every
/// tracee whose intent was in it (group commit: possibly several) is refused with the write's errno
/// (ENOSPC for a full disk, else EIO) instead of being resumed into its syscall. Completions in the
/// discarded batch are lost: those ops read back as pending. Later batches are tried again, so the
/// run goes on normally once space is freed (if RocksDB accepts writes again).
/// </summary>
internal sealed unsafe partial class Tracer
{
    private bool _journalFailureReported;

    /// <summary>The batch holds an op that is a sync point of the app (sync-points durability): commit it with a WAL fsync.</summary>
    private bool _batchSyncPoint;

    /// <summary>Commits the batch; on failure refuses every deferred tracee and returns false.</summary>
    private bool CommitOrRefuse(bool sync)
    {
        if (_writer.TryCommit(sync, out Exception? error))
        {
            return true;
        }

        Errno errno = JournalFailed(error!);
        for (int i = 0; i < _deferredCount; i++)
        {
            if (_tracees.TryGetValue(_deferred[i], out Tracee? t))
            {
                RefuseDeferred(t, errno);
            }
        }

        _deferredCount = 0;
        return false;
    }

    /// <summary>Reports the failure (once per run) and forgets the discarded captures; returns the errno for the app.</summary>
    private Errno JournalFailed(Exception error)
    {
        // The captures of the discarded batch are not in the journal: capture every object afresh.
        _capture.Epoch.ForgetAll();
        bool full = error.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase)
            || error.Message.Contains("NoSpace", StringComparison.Ordinal);
        Errno errno = full ? Errno.ENOSPC : Errno.EIO;
        if (!_journalFailureReported)
        {
            _journalFailureReported = true;
            Log.JournalWriteFailed(_logger, errno, error.Message.ReplaceLineEndings(" ").Trim());
        }

        return errno;
    }

    /// <summary>The intent of <paramref name="t"/> was discarded: undo the bookkeeping of its op and fail it without running it.</summary>
    private void RefuseDeferred(Tracee t, Errno errno)
    {
        ReleaseInFlight(t);
        CloseDup(t);
        t.MapPending = false;
        t.Creates = false;
        t.CheckOpenResult = false;
        t.PendingSeq = 0;
        t.State = TraceeState.Running;
        RefuseNow(t, errno);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 107, Level = LogLevel.Warning, Message = "the journal cannot be written ({Errno}: {Reason}); operations that need it fail with {Errno} in the app until it can")]
        public static partial void JournalWriteFailed(ILogger logger, Errno errno, string reason);
    }
}
