using Scoord.Coordinator.FastPath;
using Scoord.Coordinator.Ingest;
using Scoord.Interceptors.Syscalls;
using Scoord.Journal.Model;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Tracing;

/// <summary>
/// The process tree: fork, vfork and clone of a new process, exec, and exit each become a journal
/// event of their own (so `scoord log` shows the tree), and keep the tracee table in step.
/// </summary>
internal sealed unsafe class ProcessEvents(TraceeTable tracees, JournalIngest ingest, TraceeResumer resumer, InFlightOps inFlight, SharedMappings mappings, ApplicationGroup group, FastPathSession? fastPath)
{
    private readonly byte[] _exe = new byte[4096];
    private byte[]? _launcherPath;

    /// <summary>scoord-launch's path as /proc/PID/exe shows it (empty if it cannot be had: then nothing matches it).</summary>
    private byte[] LauncherPath()
    {
        if (_launcherPath is null)
        {
            try
            {
                _launcherPath = System.Text.Encoding.UTF8.GetBytes(Path.GetFullPath(Launch.Launcher.LocateLauncher()));
            }
            catch (Scoord.Journal.ScoordException)
            {
                _launcherPath = [];
            }
        }

        return _launcherPath;
    }

    /// <summary>PTRACE_EVENT_FORK/VFORK/CLONE of <paramref name="parent"/>.</summary>
    public void OnFork(Tracee parent, int evt)
    {
        nint msg = 0;
        ptrace(PTRACE_GETEVENTMSG, parent.Tid, 0, (nint)(&msg));
        int child = (int)msg;
        bool known = tracees.Contains(child);
        if (tracees.ExitedUnannounced(child))
        {
            // The child stopped, ran and exited before its parent's fork event reached us: it is gone,
            // and must not be added back (the run would wait for it forever). Its /proc entry may well
            // still be there: a traced child stays a zombie until its real parent reaps it, so /proc
            // says nothing here (checking it hung about one run in eight once exits got slower, e.g.
            // with the mount namespace). A reused tid would have left the recent exits at its first stop.
            AppendFork(evt, child, parent.Process.Tgid);
            resumer.Resume(parent, PTRACE_CONT, 0);
            return;
        }

        Tracee c = tracees.GetOrAdd(child);
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
            c.Process.StubMapped = parent.Process.StubMapped; // a fork copies the mappings, the stub page too
            fastPath?.Forked(parent.Process.Tgid, child); // and the seccomp filters: the hooks' switches follow
            AppendFork(evt, child, parent.Process.Tgid);
        }

        resumer.Resume(parent, PTRACE_CONT, 0);
    }

    private void AppendFork(int evt, int child, int parent)
    {
        var e = new ProcessEvent
        {
            TimeNs = Clock.NowNs(),
            Kind = evt switch { PTRACE_EVENT_FORK => OpCode.Fork, PTRACE_EVENT_VFORK => OpCode.Vfork, _ => OpCode.Clone },
            Pid = child,
            Ppid = parent,
        };
        ingest.Process(e, default, default);
    }

    /// <summary>PTRACE_EVENT_EXEC of <paramref name="t"/>.</summary>
    public void OnExec(Tracee t)
    {
        nint msg = 0;
        ptrace(PTRACE_GETEVENTMSG, t.Tid, 0, (nint)(&msg));
        int former = (int)msg;
        if (former != t.Tid && tracees.RemoveFormer(former, out Tracee old))
        {
            // A non-leader thread exec'd: it now has the leader's tid and the old tid is gone silently.
            old.CloseFds();
            old.Process.Threads--;
            fastPath?.ThreadExited(former, processGone: false);
        }

        ReadOnlySpan<byte> argv = tracees.ReadExec(t.Tid, _exe, out int exeLen);
        if (!t.ExecSeen && t.Process.Launched && exeLen > 0 && _exe.AsSpan(0, exeLen).SequenceEqual(LauncherPath()))
        {
            // scoord-launch's own exec: posix_spawn returns once that exec has let go of the parent's memory,
            // and the kernel reports the exec a moment later, so a quick seize sees it. Not the program's.
            t.State = TraceeState.Running;
            resumer.Resume(t, PTRACE_CONT, 0);
            return;
        }

        t.ExecSeen = true;
        t.VforkDone();
        t.CloseFds();
        mappings.Gone(t.Process); // exec replaces the address space
        t.Process.Memory?.Dispose(); // and so what the memory images tracked (the next one is full)
        t.Process.Memory = null;
        t.Process.StubMapped = false; // the new image maps its own stub page (its preloaded library does)
        t.State = TraceeState.Running;
        var e = new ProcessEvent { TimeNs = Clock.NowNs(), Kind = OpCode.Exec, Pid = t.Process.Tgid, Ppid = former };
        ingest.Process(e, exeLen > 0 ? _exe.AsSpan(0, exeLen) : default, argv);
        resumer.Resume(t, PTRACE_CONT, 0);
    }

    /// <summary>A thread exited or was killed (waitpid said so).</summary>
    public void OnExit(int tid, int status)
    {
        if (!tracees.RemoveExited(tid, out Tracee t))
        {
            return;
        }

        t.CloseFds();
        t.VforkDone();
        inFlight.Release(t); // killed in the middle of an op: its intent stays pending
        inFlight.Forget(t);
        TracedProcess p = t.Process;
        p.Threads--;
        fastPath?.ThreadExited(tid, processGone: tid == p.Tgid); // its slot, and the claims of a call it died in
        if (tid == p.Tgid)
        {
            mappings.Gone(p);
            p.Memory?.Dispose();
            tracees.RemoveProcess(tid);
            var e = new ProcessEvent
            {
                TimeNs = Clock.NowNs(),
                Kind = OpCode.Exit,
                Pid = tid,
                Ppid = p.Ppid,
                ExitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                Signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0,
            };
            ingest.Process(e, default, default);
            group.ProcessExited(tid, status);
        }
    }
}
