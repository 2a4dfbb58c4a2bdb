using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Scoord.Coordinator.Control;
using Scoord.Coordinator.FastPath;
using Scoord.Coordinator.Faults;
using Scoord.Coordinator.Ingest;
using Scoord.Interceptors;
using Scoord.Journal;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Tracing;

/// <summary>
/// Checkpoints of a running application: a barrier on the tracer thread. Other threads (the control
/// socket, the --checkpoint-every timer) queue a request and ring the <see cref="Doorbell"/>. The tracer
/// then commits what is pending, waits until no journaled syscall is in flight (each such thread held at
/// its end), stops every tracee (PTRACE_INTERRUPT) only when something needs the whole tree still (shared
/// writable mappings of files, the --on-checkpoint hook, --memory scoord), runs the hook, writes the checkpoint
/// record (synced), starts a new undo epoch, and resumes everyone as they were. Seccomp stops that
/// arrive during the barrier are held undecoded and handled after it, so that every operation
/// journaled before the checkpoint record has completed. Under the fast path the barrier also waits for
/// the hooks: a thread inside a hook's call when the barrier goes up is not interrupted but left to stop
/// at the hook's end (the notify syscall, where it is held); one stopped between a hook's INTENT and DONE
/// all the same is let run until the hook ends, every ring is drained into the journal before the
/// checkpoint record, and the hooks start a new undo epoch with it.
/// </summary>
internal sealed unsafe partial class CheckpointBarrier(
    TraceeTable tracees,
    TraceeResumer resumer,
    GroupCommit commit,
    JournalIngest ingest,
    SharedMappings mappings,
    CheckpointHook hook,
    Doorbell doorbell,
    ITraceLoop loop,
    FastPathSession? fastPath,
    ILogger logger,
    Memory.MemoryCheckpointer? memory = null) : ICheckpointTaker
{
    /// <summary>How long a barrier lets threads finish the hooks' calls they are in before it goes on without them.</summary>
    private static readonly TimeSpan HookCallGrace = TimeSpan.FromSeconds(5);

    /// <summary>How long a barrier waits for threads in a hook's call to stop at its end before it interrupts them.</summary>
    private static readonly TimeSpan SelfStopGrace = TimeSpan.FromMilliseconds(200);

    private readonly ConcurrentQueue<CheckpointRequest> _requests = new();
    private readonly List<Tracee> _released = new();
    private readonly List<(int Tid, int Nice)> _lent = new();

    /// <summary>The barrier under way stops every thread, not only the ones in a journaled call.</summary>
    private bool _stopAll;

    private sealed class CheckpointRequest(string? name)
    {
        public string? Name { get; } = name;
        public TaskCompletionSource<CheckpointInfo> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>Called on any thread but the tracer's; blocks until the barrier is done.</summary>
    public CheckpointInfo TakeCheckpoint(string? name) => TakeCheckpointAsync(name).GetAwaiter().GetResult();

    /// <summary>Any thread: rings at once (waiting first put 200 ms into every checkpoint), and again every 200 ms in case the doorbell was between reads.</summary>
    public Task<CheckpointInfo> TakeCheckpointAsync(string? name)
    {
        var request = new CheckpointRequest(name);
        if (!doorbell.TryEnqueue(_requests, request))
        {
            throw new ScoordException("the application has exited; take the checkpoint without it (scoord checkpoint)");
        }

        return Ringing.Until(request.Done.Task, doorbell.Ring);
    }

    /// <summary>At a doorbell stop outside a barrier: takes the checkpoints asked for.</summary>
    public void ServeRequests()
    {
        while (_requests.TryDequeue(out CheckpointRequest? r))
        {
            try
            {
                Take(r.Name, r.Done); // answered once committed, before the held threads are let go
            }
            catch (ScoordException e)
            {
                r.Done.TrySetException(e);
            }
        }
    }

    /// <summary>The application has exited: checkpoints still queued fail.</summary>
    public void FailRequests(string message)
    {
        while (_requests.TryDequeue(out CheckpointRequest? r))
        {
            r.Done.TrySetException(new ScoordException(message));
        }
    }

    /// <summary>Takes a checkpoint now, on the tracer thread, with <paramref name="stopped"/> held where it is (its resume is a plain PTRACE_CONT).</summary>
    public CheckpointInfo TakeHolding(Tracee stopped, string name)
    {
        TraceeResumer.Hold(stopped, PTRACE_CONT, 0);
        return Take(name);
    }

    /// <summary>The barrier, on the tracer thread. Throws <see cref="ScoordException"/> (nothing written) when it fails.</summary>
    public CheckpointInfo Take(string? name, TaskCompletionSource<CheckpointInfo>? answer = null)
    {
        commit.Flush();
        fastPath?.RaiseBarrier(); // hooks that end from now on stop at the notify syscall; new calls go the ptrace way
        resumer.Holding = true;
        try
        {
            // Only what must be stopped is: the checkpoint is a cut in the journal's order, and a thread
            // between calls can make no change the cut would miss (its next call stops in the filter and
            // is held). Memory writes to shared mappings, the --on-checkpoint hook and memory images need
            // the whole tree stopped; a mapping made while the barrier waited asks for it too.
            _stopAll = NeedsEveryoneStopped();
            Quiesce();
            if (!_stopAll && NeedsEveryoneStopped())
            {
                _stopAll = true;
                Quiesce();
            }

            if (fastPath is not null)
            {
                FinishHookCalls();
                if (!fastPath.Flush(sync: false, out Errno errno))
                {
                    throw new ScoordException($"the checkpoint could not be taken: the fast path's records cannot be written to the journal ({errno})");
                }
            }

            hook.Run(); // throws (and so writes nothing) when the hook fails
            FaultInjection.Hit(FaultPoint.CheckpointBeforeRecord);
            memory?.Dump(name); // --memory scoord: refuses (nothing written) what a restore could not bring back
            mappings.RecordUnmapped(); // their files' post-states belong to the epoch that wrote them
            CheckpointInfo info = ingest.Checkpoint(name, Clock.NowNs());
            memory?.Append(info); // the image's records commit with the checkpoint record
            fastPath?.NewEpoch(); // the hooks capture everything afresh after the checkpoint (never both: --memory scoord is ptrace only)
            mappings.Recapture(); // memory writes to shared mappings make no syscall: capture them for the new epoch
            if (!ingest.TryCommit(sync: true, out _, out string? error))
            {
                // No checkpoint, and the new epoch's captures are forgotten.
                memory?.Abandon();
                throw new ScoordException("the checkpoint could not be written to the journal: " + error);
            }

            memory?.Committed();

            FaultInjection.Hit(FaultPoint.CheckpointAfterRecord);
            answer?.TrySetResult(info); // the checkpoint is durable: the asker need not wait for the release
            Log.CheckpointTaken(logger, info.Id, info.Name, HeldCount(), tracees.Count);
            return info;
        }
        finally
        {
            resumer.Holding = false;
            fastPath?.LowerBarrier();
            GiveBackLent();
            ReleaseHeld();
        }
    }

    /// <summary>
    /// Stops what the checkpoint needs stopped (<see cref="_stopAll"/>: every thread; otherwise the threads
    /// in a journaled call) and handles stops until those are held.
    /// </summary>
    private void Quiesce()
    {
        // A thread inside a hook's call is not interrupted: with the barrier up it stops by itself at the
        // hook's end (the notify call), once. Interrupted there, it would stop, be let run to the hook's end
        // (FinishHookCalls) and stop again: two waits for a core, the barrier's cost when the tree is busy.
        List<Tracee>? selfStopping = null;
        foreach (Tracee t in tracees.Threads)
        {
            if (!t.Held && !t.GroupStopped && !t.Parked && t.State != TraceeState.InJournaledSyscall)
            {
                if (fastPath is not null && fastPath.InCall(t.Tid))
                {
                    (selfStopping ??= new List<Tracee>()).Add(t);
                    Lend(t);
                }
                else if (_stopAll)
                {
                    ptrace(PTRACE_INTERRUPT, t.Tid, 0, 0);
                }
            }
            else if (t.State == TraceeState.InJournaledSyscall && !t.Held)
            {
                Lend(t);
            }
        }

        if (selfStopping is not null)
        {
            AwaitSelfStopping(selfStopping);
        }

        int status;
        while (!AllHeld())
        {
            int tid = waitpid(-1, &status, __WALL);
            if (tid < 0)
            {
                if (Interop.LastErrno == Errno.EINTR)
                {
                    continue;
                }

                break;
            }

            if (tid == doorbell.Pid)
            {
                doorbell.Hold(); // resumed after the barrier
                continue;
            }

            loop.HandleStop(tid, status);
        }
    }

    private int HeldCount()
    {
        int n = 0;
        foreach (Tracee t in tracees.Threads)
        {
            n += t.Held ? 1 : 0;
        }

        return n;
    }

    /// <summary>
    /// A thread the barrier waits for (in a journaled call, on its way to a stop) runs at the coordinator's
    /// priority until the barrier ends: among many runnable threads at equal weight it would wait for its
    /// turn on a core, and the barrier with it.
    /// </summary>
    private void Lend(Tracee t)
    {
        if (CoordinatorPriority.Lend(t.Tid) is int own)
        {
            _lent.Add((t.Tid, own));
        }
    }

    private void GiveBackLent()
    {
        foreach ((int tid, int own) in _lent)
        {
            CoordinatorPriority.Restore(tid, own);
        }

        _lent.Clear();
    }

    /// <summary>Shared mappings (memory writes make no syscall), the --on-checkpoint hook and memory images need every thread stopped.</summary>
    private bool NeedsEveryoneStopped() => memory is not null || hook.Configured || mappings.Any;

    /// <summary>
    /// Waits (polling, so that it can give up) for the threads left to stop at their hooks' ends; after
    /// <see cref="SelfStopGrace"/> (one blocked in a slow call, or in a signal handler that does not return)
    /// the ones still running are interrupted like the others.
    /// </summary>
    private void AwaitSelfStopping(List<Tracee> selfStopping)
    {
        PollUntilAllHeld(Environment.TickCount64 + (long)SelfStopGrace.TotalMilliseconds);
        foreach (Tracee t in selfStopping)
        {
            if (tracees.TryGet(t.Tid, out Tracee live) && live == t && !t.Held && !t.GroupStopped && !t.Parked && t.State != TraceeState.InJournaledSyscall)
            {
                ptrace(PTRACE_INTERRUPT, t.Tid, 0, 0);
            }
        }
    }

    /// <summary>
    /// Threads held between a hook's INTENT and DONE are let run until the hook ends (no call is in flight
    /// at the checkpoint): each makes the notify syscall then, whose seccomp stop holds it again. A thread
    /// held at a seccomp stop while in a hook's call is in a signal handler that interrupted the hook, and a
    /// group-stopped one waits for SIGCONT: neither can finish the call now, and the barrier goes on (the
    /// call's INTENT is in the journal and reads as pending; docs/architecture.md, "The fast path").
    /// </summary>
    private void FinishHookCalls()
    {
        long deadline = Environment.TickCount64 + (long)HookCallGrace.TotalMilliseconds;
        while (true)
        {
            bool released = false;
            foreach (Tracee t in tracees.Threads)
            {
                if (t.Held && !t.HeldSeccomp && fastPath!.InCall(t.Tid))
                {
                    t.Held = false;
                    ptrace(t.HeldRequest, t.Tid, 0, t.HeldSignal);
                    t.HeldRequest = PTRACE_CONT;
                    t.HeldSignal = 0;
                    released = true;
                }
            }

            if (!released)
            {
                return;
            }

            if (!PollUntilAllHeld(deadline))
            {
                if (Environment.TickCount64 > deadline)
                {
                    Log.HookCallsUnfinished(logger);
                }

                return;
            }
        }
    }

    /// <summary>
    /// Handles stops (polling, so that it can give up) until every thread is held; false when
    /// <paramref name="deadline"/> (TickCount64) passed first or waitpid failed.
    /// </summary>
    private bool PollUntilAllHeld(long deadline)
    {
        int status;
        while (!AllHeld())
        {
            if (Environment.TickCount64 > deadline)
            {
                return false;
            }

            int tid = waitpid(-1, &status, __WALL | WNOHANG);
            if (tid == 0)
            {
                Thread.Sleep(1);
                continue;
            }

            if (tid < 0)
            {
                if (Interop.LastErrno == Errno.EINTR)
                {
                    continue;
                }

                return false;
            }

            if (tid == doorbell.Pid)
            {
                doorbell.Hold();
                continue;
            }

            loop.HandleStop(tid, status);
        }

        return true;
    }

    /// <summary>
    /// Every thread the checkpoint needs stopped is: with <see cref="_stopAll"/> every thread, otherwise
    /// the ones in a journaled call (a ptrace-way syscall between its stops, a hook between INTENT and
    /// DONE); a thread between calls may run on, its next call is held in the filter.
    /// </summary>
    private bool AllHeld()
    {
        foreach (Tracee t in tracees.Threads)
        {
            if (!t.Held && !t.GroupStopped && !t.Parked && !WaitsForHeldVforkChild(t, 0)
                && (_stopAll || t.State == TraceeState.InJournaledSyscall || (fastPath is not null && fastPath.InCall(t.Tid))))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// A vfork parent blocked until its child execs or exits cannot be stopped (the kernel waits
    /// uninterruptibly), and makes no syscall while the child is held: it counts as held. Without
    /// this a barrier that stopped the child before its exec waited for the parent forever.
    /// </summary>
    private bool WaitsForHeldVforkChild(Tracee t, int depth)
    {
        if (t.VforkChild == 0 || t.State == TraceeState.InJournaledSyscall || depth > 16
            || !tracees.TryGet(t.VforkChild, out Tracee child))
        {
            return false;
        }

        return child.Held || child.GroupStopped || child.Parked || WaitsForHeldVforkChild(child, depth + 1);
    }

    /// <summary>Resumes every tracee held by the barrier, handling held seccomp stops now.</summary>
    private void ReleaseHeld()
    {
        _released.Clear();
        foreach (Tracee t in tracees.Threads)
        {
            if (t.Held)
            {
                _released.Add(t);
            }
        }

        foreach (Tracee t in _released)
        {
            t.Held = false;
            if (t.HeldSeccomp)
            {
                t.HeldSeccomp = false;
                loop.DecodeSeccomp(t);
            }
            else
            {
                ptrace(t.HeldRequest, t.Tid, 0, t.HeldSignal);
            }
        }

        commit.Flush();
        loop.RetryParked();
        doorbell.ResumeHeld();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 104, Level = LogLevel.Information, Message = "checkpoint {Id} ({Name}) taken with {Held} of {Tracees} threads stopped")]
        public static partial void CheckpointTaken(ILogger logger, int id, string name, int held, int tracees);

        [LoggerMessage(EventId = 105, Level = LogLevel.Warning, Message = "checkpoint barrier: a thread did not leave the fast path's call it was in; its call reads as pending")]
        public static partial void HookCallsUnfinished(ILogger logger);
    }
}
