using Scoord.Interceptors;
using Scoord.Interceptors.Seccomp;
using Scoord.Interceptors.Syscalls;
using Scoord.Journal.Model;
using Scoord.Interceptors.Decoding;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Tracing;

/// <summary>The seccomp-stop: decode by table, classify, journal or pass or refuse.</summary>
internal sealed unsafe partial class Tracer
{
    private enum Verdict : byte
    {
        /// <summary>Not a journaled object: resume without an exit stop.</summary>
        Pass,
        /// <summary>Journal the intent, resume after the group commit, complete at the exit stop.</summary>
        Journal,
        /// <summary>Refuse with the errno in the intent (journaled as refused).</summary>
        Refuse,
    }

    private void OnSeccomp(Tracee t)
    {
        fixed (Interop.PtraceSyscallInfo* info = &_info)
        {
            if (ptrace(PTRACE_GET_SYSCALL_INFO, t.Tid, sizeof(Interop.PtraceSyscallInfo), (nint)info) <= 0)
            {
                Resume(t, PTRACE_CONT, 0); // the tracee vanished (SIGKILL): nothing to decode
                return;
            }
        }

        if (_info.ret_data != Bpf.DataNative || _info.arch != AUDIT_ARCH_X86_64)
        {
            OnForeignAbi(t);
            return;
        }

        long nr = (long)_info.nr;
        if (!SyscallTable.IsKnown(nr))
        {
            RefuseAndJournal(t, OpCode.Other, Errno.ENOSYS, IntentFlags.None);
            return;
        }

        ref readonly SyscallEntry entry = ref SyscallTable.Get((int)nr);
        switch (entry.Decode)
        {
            case DecodeKind.None:
                Resume(t, PTRACE_CONT, 0);
                return;
            case DecodeKind.Refuse:
                RefuseAndJournal(t, entry.Op, entry.RefuseErrno, IntentFlags.None);
                return;
            case DecodeKind.Dup:
                OnDupToStdio(t, entry);
                return;
            case DecodeKind.Clone3:
                OnClone3(t);
                return;
            case DecodeKind.Close:
                OnClose(t);
                return;
            case DecodeKind.Sync:
                // A durability point: everything journaled so far reaches stable storage before the app's sync runs.
                Flush();
                if (_options.Durability != Durability.Process && !_writer.TryCommit(sync: true, out Exception? syncError))
                {
                    // The journal is not durable: the app's data must not be synced before it.
                    RefuseNow(t, JournalFailed(syncError!));
                    return;
                }

                Resume(t, PTRACE_CONT, 0);
                return;
        }

        var intent = new OpIntent
        {
            Pid = t.Process.Tgid,
            Tid = t.Tid,
            Op = entry.Op,
            Fd = -1,
            Offset = -1,
            Length = -1,
        };
        int pathLen = 0, path2Len = 0;
        _statLen = 0;
        _statLen2 = 0;
        _idCount = 0;
        _allocMarkIndex = -1;
        Verdict v = Decode(t, entry, ref intent, ref pathLen, ref path2Len);
        if (v == Verdict.Journal)
        {
            NoteInodeAllocation(intent);
        }

        if (v == Verdict.Journal && ConflictsWithInFlight())
        {
            // Another op in flight touches the same inode or directory: wait for it, decode again then.
            if (_dupFd >= 0)
            {
                Interop.Libc.close(_dupFd);
                _dupFd = -1;
            }

            t.CheckOpenResult = false;
            Park(t);
            return;
        }

        switch (v)
        {
            case Verdict.Pass:
                Resume(t, PTRACE_CONT, 0);
                break;
            case Verdict.Journal:
            {
                intent.TimeNs = Clock.NowNs();
                ulong seq = _writer.AppendIntent(intent, _path.AsSpan(0, pathLen), _path2.AsSpan(0, path2Len));
                CaptureUndo(t, seq, ref intent, pathLen, path2Len);
                MarkInFlight(t);
                if (_options.Durability == Durability.SyncPoints && IsSyncPoint(intent))
                {
                    _batchSyncPoint = true; // this op makes the app's data durable: the journal must be first
                }

                t.PendingOp = intent.Op;
                if (AppCheckpointsEnabled && t.PostDup >= 0)
                {
                    NoteAppFileWrite(intent, _path.AsSpan(0, pathLen));
                }
                Defer(t, seq);
                break;
            }
            case Verdict.Refuse:
                intent.TimeNs = Clock.NowNs();
                intent.Flags |= IntentFlags.Refused;
                _writer.AppendIntent(intent, _path.AsSpan(0, pathLen), _path2.AsSpan(0, path2Len));
                Log.Refused(_logger, t.Tid, entry.Name, (Errno)intent.InjectedErrno);
                RefuseNow(t, (Errno)intent.InjectedErrno);
                break;
        }

        if (_dupFd >= 0)
        {
            close(_dupFd);
            _dupFd = -1;
        }
    }

    /// <summary>
    /// Journaled ops that make data durable by themselves: an open with O_SYNC/O_DSYNC, a write through an
    /// fd opened so (OpFlags holds the fd's status flags for the write family), pwritev2 with RWF_SYNC/RWF_DSYNC.
    /// Under sync-points their batch is committed with a WAL fsync before they proceed.
    /// </summary>
    private bool IsSyncPoint(in OpIntent intent) => intent.Op switch
    {
        OpCode.Open or OpCode.Openat or OpCode.Openat2 or OpCode.Write or OpCode.Writev or OpCode.Pwrite64 or OpCode.Pwritev
            => (intent.OpFlags & O_DSYNC) != 0,
        OpCode.Pwritev2 => (intent.OpFlags & O_DSYNC) != 0 || (_info.args[5] & (RWF_DSYNC | RWF_SYNC)) != 0,
        _ => false,
    };

    private const ulong O_DSYNC = 0x1000; // O_SYNC is O_DSYNC | __O_SYNC
    private const ulong RWF_DSYNC = 0x2;
    private const ulong RWF_SYNC = 0x4;

    private void RefuseAndJournal(Tracee t, OpCode op, Errno errno, IntentFlags flags)
    {
        var intent = new OpIntent
        {
            TimeNs = Clock.NowNs(),
            Pid = t.Process.Tgid,
            Tid = t.Tid,
            Op = op,
            Flags = IntentFlags.Refused | flags,
            InjectedErrno = (int)errno,
            Fd = -1,
            Offset = -1,
            Length = -1,
            OpFlags = _info.nr,
        };
        _writer.AppendIntent(intent, default, default);
        RefuseNow(t, errno);
    }

    /// <summary>
    /// i386 (int 0x80) and x32 syscalls: a few that cannot change files pass, writes pass only to
    /// objects scoord does not journal, everything else is refused with ENOSYS and journaled.
    /// </summary>
    private void OnForeignAbi(Tracee t)
    {
        if (_info.arch == AUDIT_ARCH_I386)
        {
            uint nr = (uint)_info.nr;
            switch (nr)
            {
                case 1: case 3: case 6: case 13: case 20: case 45: case 78: case 91: case 122: case 125:
                case 174: case 175: case 192: case 243: case 252: case 258:
                    Resume(t, PTRACE_CONT, 0);
                    return;
                case 4: // write
                    if (!IsJournaledFd(t, (int)_info.args[0]))
                    {
                        Resume(t, PTRACE_CONT, 0);
                        return;
                    }

                    break;
                case 5: // open
                    if ((_info.args[1] & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)) == 0)
                    {
                        Resume(t, PTRACE_CONT, 0);
                        return;
                    }

                    break;
            }
        }

        RefuseAndJournal(t, OpCode.ForeignAbi, Errno.ENOSYS, IntentFlags.ForeignAbi);
    }

    private bool IsJournaledFd(Tracee t, int fd)
    {
        int dup = GetFd(t, fd);
        if (dup < 0)
        {
            return false;
        }

        Interop.Stat st;
        bool journaled = fstat(dup, &st) == 0
            && ObjectClassifier.KindOf(st.st_mode) == ObjectKind.Regular
            && !_classifier.IsPseudoFs(st.st_dev, dup);
        close(dup);
        return journaled;
    }

    /// <summary>clone3 keeps its flags in memory; refuse only new mount or user namespaces.</summary>
    private void OnClone3(Tracee t)
    {
        Span<byte> flags = stackalloc byte[8];
        if (TraceeMemory.Read(t.Tid, _info.args[0], flags))
        {
            ulong f = BitConverter.ToUInt64(flags);
            if ((f & (0x00020000UL | 0x10000000UL)) != 0)
            {
                RefuseAndJournal(t, OpCode.Unshare, Errno.ENOSYS, IntentFlags.None);
                return;
            }
        }

        Resume(t, PTRACE_CONT, 0);
    }

    /// <summary>Duplicates the tracee's fd into scoord (pidfd_getfd); -1 if it is not open.</summary>
    private int GetFd(Tracee t, int fd)
    {
        if (fd < 0)
        {
            return -1;
        }

        if (t.PidFd < 0)
        {
            t.PidFd = pidfd_open(t.Tid, PIDFD_THREAD);
            if (t.PidFd < 0)
            {
                t.PidFd = pidfd_open(t.Process.Tgid, 0);
            }

            if (t.PidFd < 0)
            {
                return -1;
            }
        }

        return pidfd_getfd(t.PidFd, fd, 0);
    }
}
