using Microsoft.Extensions.Logging;
using Scoord.Coordinator.FastPath;
using Scoord.Coordinator.Faults;
using Scoord.Coordinator.Ingest;
using Scoord.Coordinator.Undo;
using Scoord.Interceptors;
using Scoord.Interceptors.Decoding;
using Scoord.Interceptors.Seccomp;
using Scoord.Interceptors.Syscalls;
using Scoord.Journal.Model;
using Scoord.Journal.Ring;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Tracing;

/// <summary>
/// The two stops of a syscall. At the seccomp stop: decode by table, then pass, refuse, or journal
/// (the undo planner says what to capture, the ingest writes the intent and the captures, the call
/// waits for the group commit). At the syscall-exit stop of a journaled call: the completion and the
/// post-states. Also the syscalls the table routes here without decoding: foreign ABIs, clone3, the
/// dup family onto stdio, close under --app-checkpoint, and the fsync family (durability points).
/// </summary>
internal sealed unsafe partial class SyscallStops(
    TracerOptions options,
    DecodeContext decode,
    JournalIngest ingest,
    InFlightOps inFlight,
    GroupCommit commit,
    TraceeResumer resumer,
    StdioGuard stdioGuard,
    AppCheckpoints appCheckpoints,
    FastPathSession? fastPath,
    PreloadKeeper? preload,
    ILogger logger)
{
    private const ulong RWF_DSYNC = 0x2;
    private const ulong RWF_SYNC = 0x4;

    // Filled by PTRACE_GET_SYSCALL_INFO at each stop (one tracer thread: never shared).
    private Interop.PtraceSyscallInfo _info;

    /// <summary>Where a failure of scoord's own while handling a stop ends: the op fails, the program goes on.</summary>
    public FaultIsolation Faults { get; } = new(ingest, inFlight, commit, resumer, logger);

    /// <summary>PTRACE_EVENT_SECCOMP: a syscall the filter stopped, before the kernel runs it.</summary>
    public void OnSeccomp(Tracee t)
    {
        try
        {
            ingest.BeginStop();
            Seccomp(t);
        }
        catch (Exception e)
        {
            Faults.AtEntry(t, _info, e);
        }
    }

    private void Seccomp(Tracee t)
    {
        if (t.State == TraceeState.InjectingGuard)
        {
            // The stdio guard's seccomp(), re-executed at an exit stop, meets the fast path's filter: let it run.
            resumer.Resume(t, PTRACE_SYSCALL, 0);
            return;
        }

        fixed (Interop.PtraceSyscallInfo* info = &_info)
        {
            if (ptrace(PTRACE_GET_SYSCALL_INFO, t.Tid, sizeof(Interop.PtraceSyscallInfo), (nint)info) <= 0)
            {
                resumer.Resume(t, PTRACE_CONT, 0); // the tracee vanished (SIGKILL): nothing to decode
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
            RefuseAndJournal(t, OpCode.Other, Errno.ENOSYS, foreignAbi: false);
            return;
        }

        ref readonly SyscallEntry entry = ref SyscallTable.Get((int)nr);
        switch (entry.Decode)
        {
            case DecodeKind.None:
                resumer.Resume(t, PTRACE_CONT, 0);
                return;
            case DecodeKind.Refuse:
                RefuseAndJournal(t, entry.Op, entry.RefuseErrno, foreignAbi: false);
                return;
            case DecodeKind.Dup:
                stdioGuard.OnDupToStdio(t, (int)_info.args[entry.FdArg]);
                return;
            case DecodeKind.Clone3:
                OnClone3(t);
                return;
            case DecodeKind.Close:
                appCheckpoints.OnClose(t, (int)_info.args[0]);
                return;
            case DecodeKind.Sync:
            {
                // A durability point: everything journaled so far (the hooks' rings too) reaches stable
                // storage before the app's sync runs.
                commit.Flush();
                bool sync = options.Durability != Durability.Process;
                Errno errno = Errno.None;
                if ((fastPath is not null && !fastPath.Flush(sync, out errno)) || (sync && !ingest.TryCommit(sync: true, out errno, out _)))
                {
                    // The journal is not durable: the app's data must not be synced before it.
                    resumer.Refuse(t, errno);
                    return;
                }

                resumer.Resume(t, PTRACE_CONT, 0);
                return;
            }

            case DecodeKind.Exec:
                if (preload is null)
                {
                    resumer.Resume(t, PTRACE_CONT, 0);
                }
                else
                {
                    preload.OnExec(t, _info);
                }

                return;
            case DecodeKind.SeccompFilter:
                OnSeccompFilter(t);
                return;
            case DecodeKind.AddressGuard:
                if (!GuardsStub(t, entry))
                {
                    resumer.Resume(t, PTRACE_CONT, 0);
                }

                return;
            case DecodeKind.Mmap:
                if (fastPath is not null && GuardsStub(t, entry))
                {
                    return;
                }

                break;
        }

        Span<ulong> args = stackalloc ulong[6];
        fixed (ulong* src = _info.args)
        {
            new ReadOnlySpan<ulong>(src, 6).CopyTo(args);
        }

        if (FaultInjection.Fires(FaultPoint.DecodeThrow, entry.Name))
        {
            throw new InvalidOperationException("fault point decode-throw reached");
        }

        var tracee = new PtraceTracee(t);
        try
        {
            DecodeAndAct(t, entry, ref tracee, args);
        }
        finally
        {
            inFlight.ReleasePathMakers();
        }
    }

    private void DecodeAndAct(Tracee t, in SyscallEntry entry, ref PtraceTracee tracee, ReadOnlySpan<ulong> args)
    {
        for (int attempt = 0; ; attempt++)
        {
            if (attempt > 0)
            {
                inFlight.HoldPathMakers(t.Tid);
            }

            DecodedCall call = SyscallDecoder.Decode(decode, ref tracee, entry, args);
            bool decodeAgain = false;
            switch (call.Verdict)
            {
                case Verdict.Pass:
                    resumer.Resume(t, PTRACE_CONT, 0);
                    break;
                case Verdict.Journal:
                    decodeAgain = !Journal(t, entry, ref call, ref tracee, args, revalidate: attempt < MaxRedecodes);
                    break;
                case Verdict.Refuse:
                    ingest.Intent(ingest.Sequences.Next(), call, default, Origin(t));
                    Log.Refused(logger, t.Tid, entry.Name, call.RefuseErrno);
                    resumer.Refuse(t, call.RefuseErrno);
                    break;
            }

            if (call.DupFd >= 0)
            {
                close(call.DupFd);
            }

            if (!decodeAgain)
            {
                return;
            }
        }
    }

    /// <summary>How often a call whose paths changed between its decode and its claims is decoded again (then it goes on as decoded last).</summary>
    private const int MaxRedecodes = 32;

    /// <summary>
    /// What the journal would record of a decoded call's paths: their names (as journaled and as stat'ed), the
    /// objects and parent directories they resolved to. Two decodes with the same fingerprint journal the same.
    /// </summary>
    private static ulong Fingerprint(in DecodedCall call)
    {
        ulong h = 14695981039346656037UL;
        h = Mix(h, call.Path.Display);
        h = Mix(h, call.Path.StatPath);
        h = Mix(h, call.Path2.Display);
        h = Mix(h, call.Path2.StatPath);
        foreach (ulong v in (ReadOnlySpan<ulong>)[call.Path.Object.Dev, call.Path.Object.Ino, call.Path.Parent.Dev, call.Path.Parent.Ino,
            call.Path2.Object.Dev, call.Path2.Object.Ino, call.Path2.Parent.Dev, call.Path2.Parent.Ino, (ulong)call.Kind, call.Dev, call.Ino])
        {
            h = (h ^ v) * 1099511628211UL;
        }

        return h;

        static ulong Mix(ulong h, ReadOnlySpan<byte> bytes)
        {
            foreach (byte b in bytes)
            {
                h = (h ^ b) * 1099511628211UL;
            }

            return (h ^ 0xff) * 1099511628211UL; // a separator: "ab"+"c" is not "a"+"bc"
        }
    }

    /// <summary>A call to journal: admitted (or parked behind a conflicting op in flight), its intent and undo items in the batch.</summary>
    /// <returns>False when its paths changed before its claims were held: nothing was taken, the caller decodes it again.</returns>
    private bool Journal(Tracee t, in SyscallEntry entry, ref DecodedCall call, ref PtraceTracee tracee, ReadOnlySpan<ulong> args, bool revalidate)
    {
        if (inFlight.Conflicts(call, t.Tid))
        {
            // Another op in flight touches the same inode or directory: wait for it, decode again then.
            inFlight.Park(t);
            return true;
        }

        if (revalidate && inFlight.Ring is not null && call.DupFd < 0)
        {
            // With the fast path on, a hook of another process may have changed names between this decode and
            // the claims (the tracer decodes and admits at once only with respect to the calls it traces), or
            // even during the decode (two paths resolved at different instants). With the claims held the
            // hooks no longer can: decode again, and go on only if both decodes agree (the hooks check their own
            // calls the same way, same_resolution). Found by kill -9 runs: `mv d2/s3 d2/t2` decoded while a hook
            // had d2 renamed away, the hook renamed it back, the rename then succeeded without its undo data.
            ulong first = Fingerprint(call);
            DecodedCall again = SyscallDecoder.Decode(decode, ref tracee, entry, args);
            bool same = again.Verdict == Verdict.Journal && again.DupFd < 0 && Fingerprint(again) == first;
            if (again.DupFd >= 0)
            {
                close(again.DupFd);
            }

            if (!same)
            {
                inFlight.Withdraw();
                Log.DecodedAgain(logger, t.Tid, entry.Name);
                return false;
            }

            // `call` views the decode buffers, which now hold the second decode: the same bytes.
        }

        UndoPlan plan = UndoPlanner.Plan(call);
        ulong seq = ingest.Sequences.Next();
        uint nextPart = ingest.Intent(seq, call, plan, Origin(t));
        t.Pending.Begin(seq, nextPart, call, plan);
        bool pathOp = call.DupFd < 0; // as the ingest counts it: an fd op is none (before the fd is handed on)
        if (plan.PostFromFd)
        {
            call.DupFd = -1; // the pending call owns it now: the exit stop reads the post-state through it
        }

        inFlight.Mark(t);
        if (pathOp)
        {
            fastPath?.PathOp(removesName: call.FreesInode); // the hooks' fd path caches and post-state superseding
        }

        if (options.Durability == Durability.SyncPoints && IsSyncPoint(call))
        {
            commit.MarkSyncPoint(); // this op makes the app's data durable: the journal must be first
        }

        if (appCheckpoints.Enabled && plan.PostFromFd)
        {
            appCheckpoints.NoteWrite(call);
        }

        // An open whose fd may land on 0-2 (they were closed): checked at its exit stop.
        t.CheckOpenResult = entry.Decode is DecodeKind.Open or DecodeKind.Openat2 && !t.Process.StdioGuarded;
        commit.Defer(t);
        return true;
    }

    private static CallOrigin Origin(Tracee t) => new(t.Process.Tgid, t.Tid, Clock.NowNs());

    /// <summary>
    /// Journaled ops that make data durable by themselves: an open with O_SYNC/O_DSYNC, a write through an
    /// fd opened so (OpFlags holds the fd's status flags for the write family), pwritev2 with RWF_SYNC/RWF_DSYNC.
    /// Under sync-points their batch is committed with a WAL fsync before they proceed.
    /// </summary>
    private bool IsSyncPoint(in DecodedCall call) => call.Op switch
    {
        OpCode.Open or OpCode.Openat or OpCode.Openat2 or OpCode.Write or OpCode.Writev or OpCode.Pwrite64 or OpCode.Pwritev
            => (call.OpFlags & O_DSYNC) != 0,
        OpCode.Pwritev2 => (call.OpFlags & O_DSYNC) != 0 || (_info.args[5] & (RWF_DSYNC | RWF_SYNC)) != 0,
        _ => false,
    };

    private void RefuseAndJournal(Tracee t, OpCode op, Errno errno, bool foreignAbi)
    {
        DecodedCall call = DecodedCall.Refused(op, errno, _info.nr, foreignAbi);
        ingest.Intent(ingest.Sequences.Next(), call, default, Origin(t));
        resumer.Refuse(t, errno);
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
                    resumer.Resume(t, PTRACE_CONT, 0);
                    return;
                case 4: // write
                    var tracee = new PtraceTracee(t);
                    if (!FdResolver.IsJournaledFd(decode, ref tracee, (int)_info.args[0]))
                    {
                        resumer.Resume(t, PTRACE_CONT, 0);
                        return;
                    }

                    break;
                case 5: // open
                    if ((_info.args[1] & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)) == 0)
                    {
                        resumer.Resume(t, PTRACE_CONT, 0);
                        return;
                    }

                    break;
            }
        }

        RefuseAndJournal(t, OpCode.ForeignAbi, Errno.ENOSYS, foreignAbi: true);
    }

    /// <summary>
    /// seccomp() or prctl(PR_SET_SECCOMP) under the fast path: a filter of the app's own also filters the
    /// hooks' syscalls, so the process (and its children, which inherit the filter) goes the ptrace way
    /// from now on; the filter installs as asked. seccomp(NotifyOp) is a hook that ended while a barrier
    /// was up: it was held here, and now fails harmlessly.
    /// </summary>
    private void OnSeccompFilter(Tracee t)
    {
        if (_info.nr == NrSeccomp && (uint)_info.args[0] == RingLayout.NotifyOp)
        {
            resumer.Refuse(t, Errno.EINVAL);
            return;
        }

        fastPath?.SwitchOff(t.Process.Tgid);
        resumer.Resume(t, PTRACE_CONT, 0);
    }

    /// <summary>
    /// A mapping change below 4 GiB under the fast path: when it touches the stub page it is refused (EPERM),
    /// except the preloaded library's own mapping of the stub file, once per image. True when it took over
    /// the resume (refused or let through here); false when the call goes on to its usual handling.
    /// </summary>
    private bool GuardsStub(Tracee t, in SyscallEntry entry)
    {
        if (fastPath is null || entry.AddressArg < 0)
        {
            return false;
        }

        ulong addr = _info.args[entry.AddressArg];
        ulong len = entry.LengthArg >= 0 ? _info.args[entry.LengthArg] : 1UL << 30; // shmat: the size is the segment's
        bool touches = Touches(addr, len);
        if (entry.Address2Arg >= 0 && (_info.args[3] & MremapFixed) != 0)
        {
            touches |= Touches(_info.args[entry.Address2Arg], _info.args[2]); // mremap's new place
        }

        if (!touches)
        {
            return false;
        }

        if (entry.Decode == DecodeKind.Mmap && !t.Process.StubMapped && IsStubMapping(t))
        {
            t.Process.StubMapped = true;
            resumer.Resume(t, PTRACE_CONT, 0);
            return true;
        }

        RefuseAndJournal(t, entry.Op, Errno.EPERM, foreignAbi: false);
        return true;
    }

    private const ulong NrSeccomp = 317;
    private const ulong MremapFixed = 2;

    private static bool Touches(ulong addr, ulong len)
    {
        ulong end = addr + Math.Max(len, 1);
        return addr < RingLayout.StubAddress + RingLayout.StubSize && (end > RingLayout.StubAddress || end < addr);
    }

    /// <summary>mmap(stub, 4096, PROT_READ|PROT_EXEC, MAP_PRIVATE|MAP_FIXED_NOREPLACE, the stub file, 0).</summary>
    private bool IsStubMapping(Tracee t)
    {
        if (_info.args[0] != RingLayout.StubAddress || _info.args[1] != RingLayout.StubSize || _info.args[2] != (ulong)(PROT_READ | PROT_EXEC)
            || _info.args[3] != (ulong)(MAP_PRIVATE | MAP_FIXED_NOREPLACE) || _info.args[5] != 0)
        {
            return false;
        }

        int dup = t.DuplicateFd((int)_info.args[4]);
        if (dup < 0)
        {
            return false;
        }

        Interop.Stat st;
        bool stub = fstat(dup, &st) == 0 && fastPath!.IsStubFile(st.st_dev, st.st_ino);
        close(dup);
        return stub;
    }

    /// <summary>clone3 keeps its flags in memory; refuse only new mount or user namespaces.</summary>
    private void OnClone3(Tracee t)
    {
        Span<byte> flags = stackalloc byte[8];
        if (TraceeMemory.Read(new ProcessVmMemory(t.Tid), _info.args[0], flags))
        {
            ulong f = BitConverter.ToUInt64(flags);
            if ((f & (0x00020000UL | 0x10000000UL)) != 0)
            {
                RefuseAndJournal(t, OpCode.Unshare, Errno.ENOSYS, foreignAbi: false);
                return;
            }
        }

        resumer.Resume(t, PTRACE_CONT, 0);
    }

    /// <summary>A syscall-exit stop (or, for an injected call, its entry).</summary>
    public void OnSyscallExit(Tracee t)
    {
        try
        {
            ingest.BeginStop();
            SyscallExit(t);
        }
        catch (Exception e)
        {
            Faults.AtExit(t, _info, e);
        }
    }

    private void SyscallExit(Tracee t)
    {
        fixed (Interop.PtraceSyscallInfo* info = &_info)
        {
            ptrace(PTRACE_GET_SYSCALL_INFO, t.Tid, sizeof(Interop.PtraceSyscallInfo), (nint)info);
        }

        if (t.State == TraceeState.InjectingGuard)
        {
            stdioGuard.OnInjectedStop(t, _info);
            return;
        }

        if (t.AppClosePending)
        {
            if (appCheckpoints.AtExit(t, failed: _info.is_error != 0))
            {
                return;
            }

            resumer.Resume(t, PTRACE_CONT, 0);
            return;
        }

        if (t.State == TraceeState.InJournaledSyscall && Complete(t))
        {
            return;
        }

        resumer.Resume(t, PTRACE_CONT, 0);
    }

    /// <summary>The exit stop of a journaled call: its completion and post-states. True when something else took over the resume.</summary>
    private bool Complete(Tracee t)
    {
        FaultInjection.Hit(FaultPoint.RunBeforeCompletion);
        if (FaultInjection.Fires(FaultPoint.TraceeKillBeforeCompletion))
        {
            // Fault injection: the tracee dies between its syscall and its completion record.
            kill(t.Tid, SIGKILL);
            ptrace(PTRACE_CONT, t.Tid, 0, 0);
            return true;
        }

        if (FaultInjection.Fires(FaultPoint.CompleteThrow, OpNames.Name(t.Pending.Op)))
        {
            throw new InvalidOperationException("fault point complete-throw reached");
        }

        PendingCall pending = t.Pending;
        bool failed = _info.is_error != 0;
        var c = new OpCompletion
        {
            TimeNs = Clock.NowNs(),
            Result = failed ? -1 : _info.rval,
            Errno = failed ? (int)-_info.rval : 0,
        };
        ingest.Completion(pending.Seq, c);
        inFlight.Release(t);
        if (!failed)
        {
            ingest.PostStates(pending);
            if (pending.Mapping)
            {
                SharedMappings.Remember(t, _info.rval);
            }
        }

        pending.End();
        t.State = TraceeState.Running;
        if (appCheckpoints.Enabled && appCheckpoints.AtExit(t, failed))
        {
            return true; // the checkpoint barrier resumed it
        }

        if (t.CheckOpenResult)
        {
            t.CheckOpenResult = false;
            if (!failed && _info.rval is >= 0 and <= 2 && !t.Process.StdioGuarded)
            {
                // The opened file landed on fd 0-2 (they were closed): guard them from now on.
                stdioGuard.BeginAtExit(t);
                return true;
            }
        }

        return false;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 102, Level = LogLevel.Trace, Message = "pid {Pid}: {Syscall} refused with {Errno}")]
        public static partial void Refused(ILogger logger, int pid, string syscall, Errno errno);

        [LoggerMessage(EventId = 103, Level = LogLevel.Trace, Message = "pid {Pid}: {Syscall} decoded again (a hook changed its paths before its claims were held)")]
        public static partial void DecodedAgain(ILogger logger, int pid, string syscall);
    }
}
