using Microsoft.Extensions.Logging;
using Scoord.Coordinator.Control;
using Scoord.Coordinator.Ingest;
using Scoord.Interceptors;
using Scoord.Interceptors.Decoding;
using Scoord.Interceptors.Seccomp;
using Scoord.Journal;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Tracing;

/// <summary>
/// The trace loop. Runs on ONE dedicated thread (every ptrace call of a tracee must come from the
/// thread that attached it): waitpid, hand each stop to the collaborator it belongs to, resume, and
/// group-commit. Tracees stopped at the same time are collected with WNOHANG, their intents written in
/// ONE RocksDB batch, and only then resumed: an INTENT is always in the journal before its syscall runs.
/// Steady state allocates nothing: buffers belong to the collaborators, tracee state is created once per thread.
/// </summary>
/// <remarks>
/// The data path, in order: <see cref="SyscallStops"/> (seccomp stop) → <see cref="SyscallDecoder"/>
/// (a <see cref="DecodedCall"/>) → <see cref="InFlightOps"/> (ordering) → <see cref="Undo.UndoPlanner"/>
/// (an <see cref="Undo.UndoPlan"/>) → <see cref="JournalIngest"/> (intent and undo items) →
/// <see cref="GroupCommit"/> (commit, resume) → <see cref="SyscallStops"/> (exit stop: completion, post-states).
/// </remarks>
internal sealed unsafe partial class Tracer : ITraceLoop
{
    internal const int PtraceOptions =
        PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE |
        PTRACE_O_TRACEEXEC | PTRACE_O_TRACESECCOMP | PTRACE_O_EXITKILL;

    private readonly ILogger _logger;
    private readonly TraceeTable _tracees = new();
    private readonly TraceeResumer _resumer = new();
    private readonly InFlightOps _inFlight = new();
    private readonly Doorbell _doorbell = new();
    private readonly GroupCommit _commit;
    private readonly SyscallStops _syscalls;
    private readonly ProcessEvents _processes;
    private readonly CheckpointBarrier _barrier;
    private readonly ApplicationGroup _group;
    private readonly Memory.MemoryCheckpointer? _memory;

    private long _stops;
    private int _mainPid;
    private int _mainStatus = -1;

    public Tracer(JournalWriter writer, TracerOptions options, ILogger logger)
    {
        _logger = logger;
        var ingest = new JournalIngest(writer, logger);
        var decode = new DecodeContext(options.Policy);
        var mappings = new SharedMappings(ingest, _tracees);
        var hook = new CheckpointHook(options.OnCheckpoint, _tracees, ingest);
        _commit = new GroupCommit(ingest, _tracees, _resumer, _inFlight, options.Durability);
        _group = new ApplicationGroup(options, _tracees, _doorbell, logger);
        FastPath.FastPathSession? fastPath = options.FastPath;
        if (options.MemoryImages && fastPath is not null)
        {
            // The Runner never makes both: the interposer's ring and stub page would be in the images, and a
            // restore does not reattach rings.
            throw new InvalidOperationException("--memory scoord runs ptrace only: no fast path session");
        }

        _memory = options.MemoryImages ? new Memory.MemoryCheckpointer(_tracees, writer, logger) : null;
        _barrier = new CheckpointBarrier(_tracees, _resumer, _commit, ingest, mappings, hook, _doorbell, this, fastPath, logger, _memory);
        var appCheckpoints = new AppCheckpoints(options.AppCheckpointGlobs, ingest, _resumer, _barrier, logger);
        var stdioGuard = new StdioGuard(decode, _resumer, fastPath, logger);
        PreloadKeeper? preload = fastPath is null ? null : new PreloadKeeper(fastPath.LibraryPath, fastPath.Directory, _resumer, logger);
        _syscalls = new SyscallStops(options, decode, ingest, _inFlight, _commit, _resumer, stdioGuard, appCheckpoints, fastPath, preload, logger);
        _processes = new ProcessEvents(_tracees, ingest, _resumer, _inFlight, mappings, _group, fastPath);
        if (fastPath is not null)
        {
            // One order for both producers; calls parked behind a hook's claim are looked at again when the drain rings.
            _inFlight.Ring = fastPath;
            ingest.SharePathOps(fastPath.Ring.PathOpsCounter);
            fastPath.WakeWhen(() => _inFlight.RingParked > 0, _doorbell.Ring);
        }
    }

    /// <summary>Faults of scoord's isolated so far (each failed one op of the program).</summary>
    public int Faults => _syscalls.Faults.Count;

    /// <summary>Checkpoints of the running application group (the control socket and --checkpoint-every call it).</summary>
    public ICheckpointTaker Checkpoints => _barrier;

    /// <summary>Programs joining the group, and `scoord status`.</summary>
    public ApplicationGroup Group => _group;

    /// <summary>Seizes the spawned launcher, sends it the filter, traces the whole tree until the last process exits.</summary>
    /// <returns>The main program's exit status, 128+N when it was killed by signal N.</returns>
    public int Run(Launch.Launcher launcher, FilterOptions filterOptions)
    {
        CoordinatorPriority.RaiseCurrentThread(); // after the program's spawn: it starts at scoord's own value
        _mainPid = launcher.Pid;
        if (ptrace(PTRACE_SEIZE, _mainPid, 0, PtraceOptions) != 0)
        {
            Errno e = Interop.LastErrno;
            kill(_mainPid, SIGKILL);
            throw new ScoordException($"cannot trace the program (ptrace: {e}); is ptrace allowed here (kernel.yama.ptrace_scope, containers)?");
        }

        TracedProcess main = _tracees.AddLaunched(_mainPid, app: 0);
        _memory?.MainPid = _mainPid;
        launcher.SendFilter(FilterGenerator.Build(filterOptions));
        Log.Launched(_logger, _mainPid);
        string launcherPath = Launch.Launcher.LocateLauncher();
        _group.RegisterPrimary(main, filterOptions, launcherPath);
        _doorbell.Start(launcherPath);
        CoordinatorPriority.Raise(_doorbell.Pid); // its wake-up is the first step of every checkpoint request

        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        Loop();
        Log.TracerStats(_logger, _stops, GC.GetAllocatedBytesForCurrentThread() - allocatedBefore);
        return _mainStatus < 0 ? 1 : WIFEXITED(_mainStatus) ? WEXITSTATUS(_mainStatus) : 128 + WTERMSIG(_mainStatus);
    }

    /// <summary>
    /// `scoord restore` of a memory image: seizes the launcher (spawned with --restore PID), sends it the filter,
    /// follows it while it creates the first process with the image's pid (which inherits the filter and is stopped
    /// at birth), rebuilds the image's whole tree from it (<see cref="Memory.TreeRestorer"/>: every process made by
    /// its parent, traced from birth), then traces the tree, the image's main program as the main program, until
    /// the last process exits.
    /// </summary>
    public int RunRestored(Launch.Launcher launcher, FilterOptions filterOptions, Memory.RestoreSource source)
    {
        CoordinatorPriority.RaiseCurrentThread();
        int restorer = launcher.Pid;
        if (ptrace(PTRACE_SEIZE, restorer, 0, PtraceOptions) != 0)
        {
            Errno e = Interop.LastErrno;
            kill(restorer, SIGKILL);
            throw new ScoordException($"cannot trace the restorer (ptrace: {e})");
        }

        launcher.SendFilter(FilterGenerator.Build(filterOptions));
        int pid = source.FirstPid;
        bool born = false;
        int restorerStatus = -1;
        int status;
        while (restorerStatus < 0 || (WIFEXITED(restorerStatus) && WEXITSTATUS(restorerStatus) == 0 && !born))
        {
            int tid = waitpid(-1, &status, __WALL);
            if (tid < 0)
            {
                if (Interop.LastErrno == Errno.EINTR)
                {
                    continue;
                }

                throw new ScoordException($"restore: waiting for the restorer: {Interop.LastErrno}");
            }

            if (tid == pid)
            {
                if (!WIFSTOPPED(status))
                {
                    throw new ScoordException($"restore: the new process {pid} ended before it could be rebuilt");
                }

                born = true; // its first stop: held until it is rebuilt
                continue;
            }

            if (tid != restorer)
            {
                continue;
            }

            if (WIFEXITED(status) || WIFSIGNALED(status))
            {
                restorerStatus = status;
                continue;
            }

            int sig = WSTOPSIG(status);
            bool trap = sig == SIGTRAP || sig == (SIGTRAP | 0x80) || (status >> 16) == PTRACE_EVENT_STOP;
            ptrace(PTRACE_CONT, restorer, 0, trap ? 0 : sig); // the seccomp stop of clone3, the fork event, its first stop
        }

        if (!WIFEXITED(restorerStatus) || WEXITSTATUS(restorerStatus) != 0)
        {
            throw new ScoordException($"restore: pid {pid} could not be created (the restorer ended with status {restorerStatus:x}); nothing was restarted");
        }

        var made = new List<int> { pid };
        List<Memory.TreeRestorer.Rebuilt> rebuilt;
        try
        {
            rebuilt = Memory.TreeRestorer.Build(pid, source, _logger, made);
        }
        catch (ScoordException e)
        {
            foreach (int p in made)
            {
                kill(p, SIGKILL);
            }

            foreach (int p in made)
            {
                while (waitpid(p, &status, __WALL) < 0 && Interop.LastErrno == Errno.EINTR)
                {
                }
            }

            throw new ScoordException($"restore: the image of checkpoint {source.Image.CheckpointId} could not be rebuilt: {e.Message}");
        }

        _mainPid = source.MainPid;
        string launcherPath = Launch.Launcher.LocateLauncher();
        var processes = new List<TracedProcess>();
        foreach (Memory.TreeRestorer.Rebuilt r in rebuilt)
        {
            TracedProcess process = r.Ppid == 0 ? _tracees.AddLaunched(r.Pid, app: 0) : _tracees.GetOrAdd(r.Pid).Process;
            if (r.Ppid != 0)
            {
                process.Ppid = r.Ppid;
                _tracees.GetOrAdd(r.Pid).Started = true;
            }

            process.StdioGuarded = r.StdioGuarded;
            processes.Add(process);
            foreach (int tid in r.Threads)
            {
                _tracees.GetOrAdd(tid).Started = true;
            }
        }

        TracedProcess main = processes.Find(p => p.Tgid == _mainPid)!;
        _group.RegisterPrimary(main, filterOptions, launcherPath);
        foreach (TracedProcess p in processes)
        {
            p.App = main.App; // the whole tree is the first application, as forks would have made it
        }

        _memory?.MainPid = _mainPid;
        Log.Launched(_logger, _mainPid);
        foreach (Memory.TreeRestorer.Rebuilt r in rebuilt)
        {
            if (ptrace(PTRACE_CONT, r.Pid, 0, 0) != 0)
            {
                throw new ScoordException($"restore: cannot resume pid {r.Pid}: {Interop.LastErrno}");
            }

            foreach (int tid in r.Threads)
            {
                ptrace(PTRACE_CONT, tid, 0, 0);
            }
        }

        _doorbell.Start(launcherPath);
        CoordinatorPriority.Raise(_doorbell.Pid); // its wake-up is the first step of every checkpoint request
        Loop();
        return _mainStatus < 0 ? 1 : WIFEXITED(_mainStatus) ? WEXITSTATUS(_mainStatus) : 128 + WTERMSIG(_mainStatus);
    }

    private void Loop()
    {
        int status;
        while (true)
        {
            int tid = waitpid(-1, &status, __WALL | (_commit.IsOpen ? WNOHANG : 0));
            if (tid == 0)
            {
                _commit.Flush(); // no stop pending: commit the batch gathered
                continue;
            }

            if (tid < 0)
            {
                Errno e = Interop.LastErrno;
                if (e == Errno.EINTR)
                {
                    continue;
                }

                _commit.Flush();
                if (e == Errno.ECHILD)
                {
                    return;
                }

                throw new ScoordException($"waitpid failed: {e}");
            }

            if (tid == _doorbell.Pid)
            {
                OnDoorbell(status);
                continue;
            }

            HandleStop(tid, status);
            if (_inFlight.RetryDue)
            {
                RetryParked();
            }

            if (_tracees.Count == 0 && _doorbell.IsOpen)
            {
                CloseDoorbell(); // the application is gone: nothing left to checkpoint
            }

            if (_commit.IsFull)
            {
                _commit.Flush();
            }
        }
    }

    /// <summary>
    /// One stop of a tracee: exits, group-stops, syscall stops, ptrace events, signals. An exception of scoord's
    /// while handling it never leaves the loop (the tracees would die with scoord): <see cref="FaultIsolation"/>.
    /// </summary>
    public void HandleStop(int tid, int status)
    {
        _stops++;
        try
        {
            Dispatch(tid, status);
        }
        catch (Exception e)
        {
            // Syscall stops isolate their own faults (the op fails); this is any other stop: trace on.
            _syscalls.Faults.Elsewhere(_tracees.TryGet(tid, out Tracee t) ? t : null, tid, e);
        }
    }

    private void Dispatch(int tid, int status)
    {
        if (WIFEXITED(status) || WIFSIGNALED(status))
        {
            _processes.OnExit(tid, status);
            if (tid == _mainPid)
            {
                _mainStatus = status;
            }

            return;
        }

        if (!WIFSTOPPED(status))
        {
            return;
        }

        Tracee t = _tracees.GetOrAdd(tid);
        int sig = WSTOPSIG(status);
        int evt = status >> 16;
        if (evt == PTRACE_EVENT_STOP)
        {
            if (!t.Started)
            {
                // First stop of an auto-attached child: it is not a group-stop.
                t.Started = true;
                _resumer.Resume(t, PTRACE_CONT, 0);
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
                _resumer.Resume(t, PTRACE_CONT, 0); // PTRACE_INTERRUPT stop (a barrier) or a listener woken by SIGCONT
            }

            return;
        }

        t.Started = true;
        t.GroupStopped = false;
        if (sig == (SIGTRAP | 0x80))
        {
            _syscalls.OnSyscallExit(t);
        }
        else if (sig == SIGTRAP && evt != 0)
        {
            switch (evt)
            {
                case PTRACE_EVENT_SECCOMP:
                    if (_resumer.Holding)
                    {
                        // A barrier is up. Not decoded now: it must be journaled after the checkpoint record.
                        t.Held = true;
                        t.HeldSeccomp = true;
                    }
                    else
                    {
                        _syscalls.OnSeccomp(t);
                    }

                    break;
                case PTRACE_EVENT_FORK:
                case PTRACE_EVENT_VFORK:
                case PTRACE_EVENT_CLONE:
                    _processes.OnFork(t, evt);
                    break;
                case PTRACE_EVENT_EXEC:
                    _processes.OnExec(t);
                    break;
                default:
                    _resumer.Resume(t, PTRACE_CONT, 0);
                    break;
            }
        }
        else
        {
            // Signal-delivery-stop: re-inject the signal.
            _resumer.Resume(t, PTRACE_CONT, sig);
        }
    }

    public void DecodeSeccomp(Tracee t) => _syscalls.OnSeccomp(t);

    /// <summary>Decodes again the parked seccomp stops whose blocker is gone (from the loop, outside any handler).</summary>
    public void RetryParked()
    {
        List<Tracee>? retry = _inFlight.TakeUnblocked(_tracees, barrierUp: _resumer.Holding);
        if (retry is null)
        {
            return;
        }

        foreach (Tracee t in retry)
        {
            t.Parked = false;
            if (_tracees.Contains(t.Tid))
            {
                _syscalls.OnSeccomp(t);
            }
        }
    }

    /// <summary>A stop of the doorbell: serve queued requests (outside a barrier), then let it read again.</summary>
    private void OnDoorbell(int status)
    {
        if (WIFEXITED(status) || WIFSIGNALED(status))
        {
            _doorbell.Gone();
            return;
        }

        if (!_resumer.Holding)
        {
            _barrier.ServeRequests();
            _group.ServeWork(); // joins and status requests of the application group
            RetryParked(); // calls parked behind a hook's claim (the fast path's drain rings for them)
        }

        _doorbell.Resume();
    }

    private void CloseDoorbell()
    {
        _doorbell.Close();
        _barrier.FailRequests("the application has exited before the checkpoint could be taken");
        _group.FailWork(JoinRequest.GroupEndedMessage);
        _doorbell.Kill();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 100, Level = LogLevel.Debug, Message = "launched and seized pid {Pid}")]
        public static partial void Launched(ILogger logger, int pid);

        /// <summary>Read by the allocation test: the hot path must not allocate per stop.</summary>
        [LoggerMessage(EventId = 103, Level = LogLevel.Debug, Message = "tracer: {Stops} stops, {Bytes} bytes allocated on the tracer thread")]
        public static partial void TracerStats(ILogger logger, long stops, long bytes);
    }
}
