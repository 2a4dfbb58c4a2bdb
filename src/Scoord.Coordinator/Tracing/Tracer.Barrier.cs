using System.Collections.Concurrent;
using Scoord.Coordinator.Control;
using Scoord.Interceptors;
using Scoord.Journal;
using Scoord.Coordinator.Faults;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Tracing;

/// <summary>
/// Checkpoints of a running application: a barrier on the tracer thread. Other threads (the
/// control socket, the --checkpoint-every timer) queue a request and ring the doorbell: a tiny
/// filterless tracee blocked in read() on a pipe, whose syscall stop wakes the tracer thread out
/// of waitpid. The tracer then commits what is pending, stops every tracee (PTRACE_INTERRUPT),
/// waits until each is held in a stop and no journaled syscall is in flight, writes the
/// checkpoint record (synced), starts a new undo epoch, and resumes everyone as they were.
/// Seccomp stops that arrive during the barrier are held undecoded and handled after it, so that
/// every operation journaled before the checkpoint record has completed.
/// </summary>
internal sealed unsafe partial class Tracer : ICheckpointTaker
{
    private readonly ConcurrentQueue<CheckpointRequest> _requests = new();
    private int _doorbellPid;
    private int _doorbellWrite = -1;
    private bool _barrier;
    private bool _accepting = true;

    private sealed class CheckpointRequest(string? name)
    {
        public string? Name { get; } = name;
        public TaskCompletionSource<CheckpointInfo> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>Called on any thread but the tracer's; blocks until the barrier is done.</summary>
    public CheckpointInfo TakeCheckpoint(string? name)
    {
        var request = new CheckpointRequest(name);
        lock (_requests)
        {
            if (!_accepting)
            {
                throw new ScoordException("the application has exited; take the checkpoint without it (scoord checkpoint)");
            }

            _requests.Enqueue(request);
        }

        // A byte per request, rung at once (waiting first put 200 ms into every checkpoint); repeat
        // until served in case the doorbell was between reads. Task.Wait would throw an
        // AggregateException for a failed request (the app exited meanwhile): wait on the handle, and
        // let GetResult throw the ScoordException itself.
        Task<CheckpointInfo> done = request.Done.Task;
        do
        {
            RingDoorbell();
        }
        while (!((IAsyncResult)done).AsyncWaitHandle.WaitOne(TimeSpan.FromMilliseconds(200)));

        return done.GetAwaiter().GetResult();
    }

    private void RingDoorbell()
    {
        byte b = 1;
        if (_doorbellWrite >= 0)
        {
            write(_doorbellWrite, &b, 1);
        }
    }

    /// <summary>Starts the doorbell tracee (on the tracer thread, which must be its tracer).</summary>
    private void StartDoorbell(string launcherPath)
    {
        int* fds = stackalloc int[2];
        if (pipe2(fds, O_CLOEXEC) != 0)
        {
            return;
        }

        int childFd = fcntl(fds[0], F_DUPFD, 3);
        close(fds[0]);
        _doorbellWrite = fds[1];
        _doorbellPid = Launch.Launcher.SpawnPlain(launcherPath, ["scoord-launch", "--doorbell", childFd.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        close(childFd);
        if (_doorbellPid > 0 && ptrace(PTRACE_SEIZE, _doorbellPid, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL) == 0)
        {
            // It is running (blocked in read): make its next syscall boundary stop.
            ptrace(PTRACE_INTERRUPT, _doorbellPid, 0, 0);
        }
        else
        {
            _doorbellPid = 0;
        }

        RingDoorbell(); // the first ring makes it cycle once so the loop starts consistent
    }

    private void StopDoorbell()
    {
        lock (_requests)
        {
            _accepting = false;
        }

        FailPending("the application has exited before the checkpoint could be taken");
        FailWork(JoinRequest.GroupEndedMessage);
        if (_doorbellPid > 0)
        {
            kill(_doorbellPid, SIGKILL);
        }

        if (_doorbellWrite >= 0)
        {
            close(_doorbellWrite);
            _doorbellWrite = -1;
        }
    }

    private void FailPending(string message)
    {
        while (_requests.TryDequeue(out CheckpointRequest? r))
        {
            r.Done.TrySetException(new ScoordException(message));
        }
    }

    /// <summary>A stop of the doorbell: serve queued requests, then let it read again.</summary>
    private void OnDoorbell(int status)
    {
        if (WIFEXITED(status) || WIFSIGNALED(status))
        {
            _doorbellPid = 0;
            return;
        }

        if (!_barrier)
        {
            while (_requests.TryDequeue(out CheckpointRequest? r))
            {
                try
                {
                    r.Done.TrySetResult(Barrier(r.Name));
                }
                catch (ScoordException e)
                {
                    r.Done.TrySetException(e);
                }
            }

            ServeWork(); // joins and status requests of the application group
        }

        if (_doorbellPid > 0)
        {
            ptrace(PTRACE_SYSCALL, _doorbellPid, 0, 0);
        }
    }

    private CheckpointInfo Barrier(string? name)
    {
        Flush();
        _barrier = true;
        try
        {
            foreach (Tracee t in _tracees.Values)
            {
                if (!t.Held && !t.GroupStopped && !t.Parked && t.State != TraceeState.InJournaledSyscall)
                {
                    ptrace(PTRACE_INTERRUPT, t.Tid, 0, 0);
                }
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

                if (tid == _doorbellPid)
                {
                    _heldDoorbell = true; // resumed after the barrier
                    continue;
                }

                Handle(tid, status);
            }

            RunCheckpointHook(); // throws (and so writes nothing) when the hook fails
            FaultInjection.Hit(FaultPoint.CheckpointBeforeRecord);
            RecordUnmappedMappings(); // their files' post-states belong to the epoch that wrote them
            CheckpointInfo info = _writer.AppendCheckpoint(name, Clock.NowNs());
            _capture.Epoch.NewEpoch();
            RecaptureMappings(); // memory writes to shared mappings make no syscall: capture them for the new epoch
            if (!_writer.TryCommit(sync: true, out Exception? error))
            {
                JournalFailed(error!); // no checkpoint, and the new epoch's captures are forgotten
                throw new ScoordException("the checkpoint could not be written to the journal: " + error!.Message.ReplaceLineEndings(" ").Trim());
            }

            FaultInjection.Hit(FaultPoint.CheckpointAfterRecord);
            Log.CheckpointTaken(_logger, info.Id, info.Name, _tracees.Count);
            return info;
        }
        finally
        {
            _barrier = false;
            ReleaseHeld();
        }
    }

    private bool _heldDoorbell;

    private bool AllHeld()
    {
        foreach (Tracee t in _tracees.Values)
        {
            if (!t.Held && !t.GroupStopped && !t.Parked && !WaitsForHeldVforkChild(t, 0))
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
            || !_tracees.TryGetValue(t.VforkChild, out Tracee? child))
        {
            return false;
        }

        return child.Held || child.GroupStopped || child.Parked || WaitsForHeldVforkChild(child, depth + 1);
    }

    /// <summary>A vfork child exec'd or exited: its parent runs again (and a barrier in progress must stop it).</summary>
    private void VforkDone(Tracee child)
    {
        if (child.VforkParent is not { } parent)
        {
            return;
        }

        child.VforkParent = null;
        if (parent.VforkChild == child.Tid)
        {
            parent.VforkChild = 0;
        }
    }

    /// <summary>Resumes every tracee held by the barrier, handling held seccomp stops now.</summary>
    private void ReleaseHeld()
    {
        _releaseList.Clear();
        foreach (Tracee t in _tracees.Values)
        {
            if (t.Held)
            {
                _releaseList.Add(t);
            }
        }

        foreach (Tracee t in _releaseList)
        {
            t.Held = false;
            if (t.HeldSeccomp)
            {
                t.HeldSeccomp = false;
                OnSeccomp(t);
            }
            else
            {
                ptrace(t.HeldRequest, t.Tid, 0, t.HeldSignal);
            }
        }

        Flush();
        RetryParked();
        if (_heldDoorbell)
        {
            _heldDoorbell = false;
            ptrace(PTRACE_SYSCALL, _doorbellPid, 0, 0);
        }
    }

    private readonly List<Tracee> _releaseList = new();

    /// <summary>Every resume goes through here: during a barrier the tracee is held instead.</summary>
    private void Resume(Tracee t, int request, int signal)
    {
        if (_barrier)
        {
            t.Held = true;
            t.HeldRequest = request;
            t.HeldSignal = signal;
            return;
        }

        ptrace(request, t.Tid, 0, signal);
    }
}
