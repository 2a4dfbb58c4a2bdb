using Scoord.Interceptors.Decoding;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Scoord.Interceptors;
using Scoord.Interceptors.Seccomp;
using Scoord.Interceptors.Syscalls;
using Scoord.Journal;
using Scoord.Coordinator.Faults;
using Scoord.Journal.Model;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Tracing;

/// <summary>
/// The tracer loop. Runs on ONE dedicated thread (every ptrace call of a tracee must come from the
/// thread that attached it). Per stop: waitpid -> decode registers (PTRACE_GET_SYSCALL_INFO) ->
/// read paths (process_vm_readv) -> classify the object -> append the INTENT to the journal batch.
/// Tracees stopped at the same time are collected with WNOHANG, their intents written in ONE
/// RocksDB batch, and only then resumed: an INTENT is always in the journal before its syscall runs.
/// Steady state allocates nothing: buffers are fields, tracee state is created once per thread.
/// </summary>
internal sealed unsafe partial class Tracer
{
    private const int PathMax = 4096;
    private const int MaxBatch = 256;

    private const int PtraceOptions =
        PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE |
        PTRACE_O_TRACEEXEC | PTRACE_O_TRACESECCOMP | PTRACE_O_EXITKILL;

    private readonly JournalWriter _writer;
    private readonly TracerOptions _options;
    private readonly ILogger _logger;
    private readonly Dictionary<int, Tracee> _tracees = new();
    private readonly Dictionary<int, TracedProcess> _processes = new();
    private readonly ObjectClassifier _classifier = new();
    private readonly Interop.SockFilter[] _guardFilter = FilterGenerator.BuildStdioGuard();

    // Scratch buffers of the hot path (one tracer thread: never shared).
    private readonly byte[] _raw = new byte[PathMax];
    private readonly byte[] _raw2 = new byte[PathMax];
    private readonly byte[] _base = new byte[PathMax];
    private readonly byte[] _path = new byte[PathMax];
    private readonly byte[] _path2 = new byte[PathMax];
    private readonly byte[] _statPath = new byte[PathMax + 64];
    private readonly byte[] _statPath2 = new byte[PathMax + 64];
    private int _statLen;
    private int _statLen2;
    private int _dupFd = -1;
    private Interop.Stat _dupStat;
    private bool _follow1;
    private bool _follow2;
    // Identities of the parent directories the decode stat'ed, so that undo capture can skip them without a syscall.
    private (ulong Dev, ulong Ino) _parent1;
    private (ulong Dev, ulong Ino) _parent2;
    private readonly byte[] _parentStat = new byte[PathMax + 64];
    private readonly Undo.UndoCapture _capture;
    private readonly byte[] _proc = new byte[64];
    private readonly byte[] _io = new byte[PathMax * 4];
    private readonly int[] _deferred = new int[MaxBatch];
    private int _deferredCount;
    private Interop.PtraceSyscallInfo _info;

    private long _stops;
    private readonly HashSet<int> _recentExits = new();
    private int _mainPid;
    private int _mainStatus = -1;

    public Tracer(JournalWriter writer, TracerOptions options, ILogger logger)
    {
        _writer = writer;
        _capture = new Undo.UndoCapture(writer);
        _options = options;
        _logger = logger;
    }

    /// <summary>Seizes the spawned launcher, sends it the filter, traces the whole tree until the last process exits.</summary>
    /// <returns>The main program's exit status, 128+N when it was killed by signal N.</returns>
    public int Run(Launch.Launcher launcher, FilterOptions filterOptions)
    {
        _mainPid = launcher.Pid;
        if (ptrace(PTRACE_SEIZE, _mainPid, 0, PtraceOptions) != 0)
        {
            Errno e = Interop.LastErrno;
            kill(_mainPid, SIGKILL);
            throw new ScoordException($"cannot trace the program (ptrace: {e}); is ptrace allowed here (kernel.yama.ptrace_scope, containers)?");
        }

        var main = new TracedProcess { Tgid = _mainPid, Ppid = Environment.ProcessId, Threads = 1 };
        _processes[_mainPid] = main;
        _tracees[_mainPid] = new Tracee { Tid = _mainPid, Process = main, Started = true };
        launcher.SendFilter(FilterGenerator.Build(filterOptions));
        Log.Launched(_logger, _mainPid);
        string launcherPath = Launch.Launcher.LocateLauncher();
        RegisterPrimary(main, filterOptions, launcherPath);
        StartDoorbell(launcherPath);

        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        Loop();
        Log.TracerStats(_logger, _stops, GC.GetAllocatedBytesForCurrentThread() - allocatedBefore);
        return _mainStatus < 0 ? 1 : WIFEXITED(_mainStatus) ? WEXITSTATUS(_mainStatus) : 128 + WTERMSIG(_mainStatus);
    }

    private void Loop()
    {
        int status;
        while (true)
        {
            bool batchOpen = _deferredCount > 0 || _writer.PendingRecords > 0;
            int tid = waitpid(-1, &status, __WALL | (batchOpen ? WNOHANG : 0));
            if (tid == 0)
            {
                Flush();
                continue;
            }

            if (tid < 0)
            {
                Errno e = Interop.LastErrno;
                if (e == Errno.EINTR)
                {
                    continue;
                }

                Flush();
                if (e == Errno.ECHILD)
                {
                    return;
                }

                throw new ScoordException($"waitpid failed: {e}");
            }

            if (tid == _doorbellPid)
            {
                OnDoorbell(status);
                continue;
            }

            Handle(tid, status);
            if (_retryParked)
            {
                RetryParked();
            }

            if (_tracees.Count == 0 && _doorbellWrite >= 0)
            {
                StopDoorbell(); // the application is gone: nothing left to checkpoint
            }

            if (_deferredCount == MaxBatch)
            {
                Flush();
            }
        }
    }

    /// <summary>Group commit: one RocksDB write for every record gathered, then resume the tracees that wait for it.</summary>
    private void Flush()
    {
        if (_writer.PendingRecords > 0)
        {
            FaultInjection.Hit(FaultPoint.RunBeforeCommit);
            bool sync = _options.Durability == Durability.Strict || _batchSyncPoint;
            _batchSyncPoint = false;
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

    private void Handle(int tid, int status)
    {
        _stops++;
        if (WIFEXITED(status) || WIFSIGNALED(status))
        {
            OnExit(tid, status);
            return;
        }

        if (!WIFSTOPPED(status))
        {
            return;
        }

        Tracee t = GetOrAdd(tid);
        int sig = WSTOPSIG(status);
        int evt = status >> 16;
        if (evt == PTRACE_EVENT_STOP)
        {
            if (!t.Started)
            {
                // First stop of an auto-attached child: it is not a group-stop.
                t.Started = true;
                Resume(t, PTRACE_CONT, 0);
            }
            else if (sig is SIGSTOP or SIGTSTP or SIGTTIN or SIGTTOU)
            {
                // Group-stop: keep it stopped (job control works as without scoord) but keep getting events.
                t.GroupStopped = true;
                ptrace(PTRACE_LISTEN, tid, 0, 0);
            }
            else
            {
                t.GroupStopped = false;
                Resume(t, PTRACE_CONT, 0); // PTRACE_INTERRUPT stop (a barrier) or a listener woken by SIGCONT
            }

            return;
        }

        t.Started = true;
        t.GroupStopped = false;
        if (sig == (SIGTRAP | 0x80))
        {
            OnSyscallExit(t);
        }
        else if (sig == SIGTRAP && evt != 0)
        {
            switch (evt)
            {
                case PTRACE_EVENT_SECCOMP:
                    if (_barrier)
                    {
                        // Not decoded now: it must be journaled after the checkpoint record.
                        t.Held = true;
                        t.HeldSeccomp = true;
                    }
                    else
                    {
                        OnSeccomp(t);
                    }

                    break;
                case PTRACE_EVENT_FORK:
                case PTRACE_EVENT_VFORK:
                case PTRACE_EVENT_CLONE:
                    OnFork(t, evt);
                    break;
                case PTRACE_EVENT_EXEC:
                    OnExec(t);
                    break;
                default:
                    Resume(t, PTRACE_CONT, 0);
                    break;
            }
        }
        else
        {
            // Signal-delivery-stop: re-inject the signal.
            Resume(t, PTRACE_CONT, sig);
        }
    }

    private Tracee GetOrAdd(int tid)
    {
        if (_tracees.TryGetValue(tid, out Tracee? t))
        {
            return t;
        }

        // A child's first stop can arrive before its parent's fork event.
        int tgid = ProcStatus.ReadTgid(tid, _proc, _io);
        if (tgid <= 0)
        {
            tgid = tid;
        }

        if (!_processes.TryGetValue(tgid, out TracedProcess? p))
        {
            p = new TracedProcess { Tgid = tgid, Ppid = ProcStatus.ReadPpid(tid, _proc, _io) };
            _processes[tgid] = p;
        }

        p.Threads++;
        _recentExits.Remove(tid); // a new thread or process with a reused tid
        t = new Tracee { Tid = tid, Process = p };
        _tracees[tid] = t;
        return t;
    }

    private void OnFork(Tracee parent, int evt)
    {
        nint msg = 0;
        ptrace(PTRACE_GETEVENTMSG, parent.Tid, 0, (nint)(&msg));
        int child = (int)msg;
        bool known = _tracees.ContainsKey(child);
        if (!known && _recentExits.Remove(child))
        {
            // The child stopped, ran and exited before its parent's fork event reached us: it is gone,
            // and must not be added back (the run would wait for it forever). Its /proc entry may well
            // still be there: a traced child stays a zombie until its real parent reaps it, so /proc
            // says nothing here (checking it hung about one run in eight once exits got slower, e.g.
            // with the mount namespace). A reused tid would have left _recentExits at its first stop.
            var gone = new ProcessEvent
            {
                TimeNs = Clock.NowNs(),
                Kind = evt switch { PTRACE_EVENT_FORK => OpCode.Fork, PTRACE_EVENT_VFORK => OpCode.Vfork, _ => OpCode.Clone },
                Pid = child,
                Ppid = parent.Process.Tgid,
            };
            _writer.AppendProcess(gone, default, default);
            Resume(parent, PTRACE_CONT, 0);
            return;
        }

        Tracee c = GetOrAdd(child);
        if (evt == PTRACE_EVENT_VFORK && !c.ExecSeen)
        {
            parent.VforkChild = child;
            c.VforkParent = parent;
        }

        if (c.Process.Tgid == child && (!known || c.Process.Ppid == 0 || c.Process.Ppid == parent.Process.Tgid))
        {
            // A new process (not a thread): inherits the parent's stdio guard (seccomp filters are inherited).
            c.Process.Ppid = parent.Process.Tgid;
            c.Process.StdioGuarded |= parent.Process.StdioGuarded;
            c.Process.App = parent.Process.App;
            var e = new ProcessEvent
            {
                TimeNs = Clock.NowNs(),
                Kind = evt switch { PTRACE_EVENT_FORK => OpCode.Fork, PTRACE_EVENT_VFORK => OpCode.Vfork, _ => OpCode.Clone },
                Pid = child,
                Ppid = parent.Process.Tgid,
            };
            _writer.AppendProcess(e, default, default);
        }

        Resume(parent, PTRACE_CONT, 0);
    }

    private void OnExec(Tracee t)
    {
        nint msg = 0;
        ptrace(PTRACE_GETEVENTMSG, t.Tid, 0, (nint)(&msg));
        int former = (int)msg;
        if (former != t.Tid && _tracees.Remove(former, out Tracee? old))
        {
            // A non-leader thread exec'd: it now has the leader's tid and the old tid is gone silently.
            ClosePidFd(old);
            old.Process.Threads--;
        }

        t.ExecSeen = true;
        VforkDone(t);
        ClosePidFd(t);
        MappingsGone(t.Process); // exec replaces the address space
        t.State = TraceeState.Running;
        int exeLen = ProcPath.ReadLink(_proc.AsSpan(0, ProcPath.Format(_proc, t.Tid, "exe"u8) + 1), _path);
        int argvLen = ProcStatus.ReadFile(t.Tid, "cmdline"u8, _proc, _io);
        var e = new ProcessEvent { TimeNs = Clock.NowNs(), Kind = OpCode.Exec, Pid = t.Process.Tgid, Ppid = former };
        _writer.AppendProcess(e, exeLen > 0 ? _path.AsSpan(0, exeLen) : default, argvLen > 0 ? _io.AsSpan(0, TrimNul(argvLen)) : default);
        Resume(t, PTRACE_CONT, 0);
    }

    private int TrimNul(int len) => len > 0 && _io[len - 1] == 0 ? len - 1 : len;

    private void OnExit(int tid, int status)
    {
        if (_recentExits.Count > 4096)
        {
            _recentExits.Clear();
        }

        _recentExits.Add(tid);
        if (!_tracees.Remove(tid, out Tracee? t))
        {
            return;
        }

        ClosePidFd(t);
        VforkDone(t);
        ReleaseInFlight(t); // killed in the middle of an op: its intent stays pending
        if (t.Parked)
        {
            _parked.Remove(t);
        }

        TracedProcess p = t.Process;
        p.Threads--;
        if (tid == p.Tgid)
        {
            MappingsGone(p);
            _processes.Remove(tid);
            var e = new ProcessEvent
            {
                TimeNs = Clock.NowNs(),
                Kind = OpCode.Exit,
                Pid = tid,
                Ppid = p.Ppid,
                ExitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                Signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0,
            };
            _writer.AppendProcess(e, default, default);
            ApplicationProcessExited(tid, status);
        }

        if (tid == _mainPid)
        {
            _mainStatus = status;
        }
    }

    /// <summary>Closes scoord's copy of the fd of an fd-based op, kept from its seccomp stop to its exit stop.</summary>
    private static void CloseDup(Tracee t)
    {
        if (t.PostDup >= 0)
        {
            close(t.PostDup);
            t.PostDup = -1;
        }
    }

    private static void ClosePidFd(Tracee t)
    {
        CloseDup(t);
        if (t.PidFd >= 0)
        {
            close(t.PidFd);
            t.PidFd = -1;
        }
    }

    private void OnSyscallExit(Tracee t)
    {
        fixed (Interop.PtraceSyscallInfo* info = &_info)
        {
            ptrace(PTRACE_GET_SYSCALL_INFO, t.Tid, sizeof(Interop.PtraceSyscallInfo), (nint)info);
        }

        if (t.State == TraceeState.InjectingGuard)
        {
            FinishGuardInjection(t);
            return;
        }

        if (t.AppClosePending)
        {
            bool closeFailed = _info.is_error != 0;
            if (MaybeAppCheckpointAtExit(t, closeFailed))
            {
                return;
            }

            Resume(t, PTRACE_CONT, 0);
            return;
        }

        if (t.State == TraceeState.InJournaledSyscall)
        {
            FaultInjection.Hit(FaultPoint.RunBeforeCompletion);
            if (FaultInjection.Fires(FaultPoint.TraceeKillBeforeCompletion))
            {
                // Fault injection: the tracee dies between its syscall and its completion record.
                kill(t.Tid, SIGKILL);
                ptrace(PTRACE_CONT, t.Tid, 0, 0);
                return;
            }

            bool failed = _info.is_error != 0;
            var c = new OpCompletion
            {
                TimeNs = Clock.NowNs(),
                Result = failed ? -1 : _info.rval,
                Errno = failed ? (int)-_info.rval : 0,
            };
            _writer.AppendCompletion(t.PendingSeq, c);
            ReleaseInFlight(t);
            if (!failed)
            {
                CapturePostState(t, t.PendingSeq);
                if (t.MapPending)
                {
                    RememberMapping(t, t.PendingSeq, _info.rval);
                }
            }

            t.MapPending = false;
            t.Creates = false;
            CloseDup(t);

            t.PendingSeq = 0;
            t.State = TraceeState.Running;
            if (AppCheckpointsEnabled && MaybeAppCheckpointAtExit(t, failed))
            {
                return; // the checkpoint barrier resumed it
            }

            if (t.CheckOpenResult)
            {
                t.CheckOpenResult = false;
                if (!failed && _info.rval is >= 0 and <= 2 && !t.Process.StdioGuarded)
                {
                    // The opened file landed on fd 0-2 (they were closed): guard them from now on.
                    BeginGuardInjectionAtExit(t);
                    return;
                }
            }
        }

        Resume(t, PTRACE_CONT, 0);
    }

    private void Defer(Tracee t, ulong seq)
    {
        t.PendingSeq = seq;
        t.State = TraceeState.InJournaledSyscall;
        _deferred[_deferredCount++] = t.Tid;
    }

    /// <summary>Makes the syscall fail with <paramref name="errno"/> without running it (seccomp-stop: nr = -1, rax = -errno).</summary>
    private void RefuseNow(Tracee t, Errno errno)
    {
        Interop.UserRegs regs;
        if (ptrace(PTRACE_GETREGS, t.Tid, 0, (nint)(&regs)) == 0)
        {
            regs.orig_rax = ulong.MaxValue;
            regs.rax = unchecked((ulong)-(long)errno);
            ptrace(PTRACE_SETREGS, t.Tid, 0, (nint)(&regs));
        }

        Resume(t, PTRACE_CONT, 0);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 100, Level = LogLevel.Debug, Message = "launched and seized pid {Pid}")]
        public static partial void Launched(ILogger logger, int pid);

        /// <summary>Read by the allocation test: the hot path must not allocate per stop.</summary>
        [LoggerMessage(EventId = 103, Level = LogLevel.Debug, Message = "tracer: {Stops} stops, {Bytes} bytes allocated on the tracer thread")]
        public static partial void TracerStats(ILogger logger, long stops, long bytes);

        [LoggerMessage(EventId = 104, Level = LogLevel.Information, Message = "checkpoint {Id} ({Name}) taken with {Tracees} threads stopped")]
        public static partial void CheckpointTaken(ILogger logger, int id, string name, int tracees);

        [LoggerMessage(EventId = 105, Level = LogLevel.Information, Message = "checkpoint {Id} taken after the app wrote {Path}")]
        public static partial void AppCheckpoint(ILogger logger, int id, string path);

        [LoggerMessage(EventId = 106, Level = LogLevel.Warning, Message = "no checkpoint after the app wrote {Path}: {Reason}")]
        public static partial void AppCheckpointFailed(ILogger logger, string path, string reason);

        [LoggerMessage(EventId = 101, Level = LogLevel.Warning, Message = "could not guard stdio of pid {Pid} (seccomp returned {Result}): its writes through fds 0-2 are not journaled")]
        public static partial void GuardFailed(ILogger logger, int pid, long result);

        [LoggerMessage(EventId = 102, Level = LogLevel.Trace, Message = "pid {Pid}: {Syscall} refused with {Errno}")]
        public static partial void Refused(ILogger logger, int pid, string syscall, Errno errno);
    }
}
