using Scoord.Coordinator.Tracing;
using Scoord.Interceptors;
using Scoord.Journal.Memory;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Memory;

/// <summary>
/// Phase two of a dump, per process: what only the process itself can say (its threads' state, signal
/// dispositions, interval timers, the exact brk), through ptrace and injected syscalls; the userfaultfd of
/// the dirty-page tracker is made here too. Every thread is put back into the stop it was held in, and the
/// barrier learns how to resume it (<see cref="SyscallInjector.End"/>).
/// </summary>
internal static unsafe class ProcessCapture
{
    private const int SIGKILL = 9, SIGSTOP = 19, SIGCHLD = 17;

    public static void Capture(ScannedProcess sp, ProcessMemory memory, bool setUpUffd, ProcessTracking tracking)
    {
        ulong vdso = 0;
        foreach (VmaImage v in sp.Image.Vmas)
        {
            if (v.Name == "[vdso]")
            {
                vdso = v.Start;
            }
        }

        if (vdso == 0)
        {
            throw MemoryRefusedException.For(sp.Pid, sp.Comm, "it has unmapped its [vdso], which scoord needs to reach into it");
        }

        ulong gadget = SyscallInjector.Gadget(vdso);
        var begun = new List<(Tracee T, InjectedThread I)>();
        bool ended = false;
        try
        {
            foreach (Tracee t in sp.Threads)
            {
                if (t.GroupStopped)
                {
                    Interrupt(t); // a job-control stop answered with PTRACE_LISTEN: bring it into a ptrace stop
                }

                begun.Add((t, SyscallInjector.Begin(t.Tid, sp.Pid, gadget)));
            }

            InjectedThread leader = begun[0].I;
            ProcessWide(sp, leader, memory);
            foreach ((Tracee t, InjectedThread inj) in begun)
            {
                sp.Image.Threads.Add(ThreadCapture.Capture(t, inj, memory));
            }

            sp.Image.Pending.AddRange(ThreadCapture.Pending(sp.Pid, shared: true));
            if (setUpUffd && tracking.Uffd < 0 && !tracking.UffdFailed)
            {
                int pidfd = pidfd_open(sp.Pid, 0);
                try
                {
                    tracking.UffdFailed = pidfd < 0 || !UffdTracker.TrySetUp(leader, pidfd, tracking, out _);
                }
                finally
                {
                    if (pidfd >= 0)
                    {
                        close(pidfd);
                    }
                }
            }

            ended = true;
            EndAll(begun, memory);
        }
        finally
        {
            if (!ended)
            {
                try
                {
                    EndAll(begun, memory);
                }
                catch (InjectionException)
                {
                    // Best effort: the checkpoint fails with the first error.
                }
            }
        }
    }

    /// <summary>brk, the signal dispositions that are not the default, the three interval timers.</summary>
    private static void ProcessWide(ScannedProcess sp, InjectedThread leader, ProcessMemory memory)
    {
        ProcessImage img = sp.Image;
        img.Mm[5] = (ulong)SyscallInjector.Check(leader, "brk(0)", Nr.Brk, 0);
        string status = ProcFile.ReadText($"/proc/{sp.Pid}/status") ?? "";
        ulong caught = ProcFile.StatusHex(status, "SigCgt");
        ulong ignored = ProcFile.StatusHex(status, "SigIgn");
        ulong scratch = SyscallInjector.StackScratch(leader.Saved, 64);
        Span<byte> saved = stackalloc byte[64];
        Span<byte> out64 = stackalloc byte[64];
        memory.Read(scratch, saved);
        try
        {
            for (int sig = 1; sig <= 64; sig++)
            {
                ulong bit = 1UL << (sig - 1);
                if (sig is SIGKILL or SIGSTOP)
                {
                    continue;
                }

                if ((caught & bit) != 0 || sig == SIGCHLD)
                {
                    SyscallInjector.Check(leader, $"rt_sigaction({sig})", Nr.RtSigaction, sig, 0, (long)scratch, 8);
                    memory.Read(scratch, out64[..32]);
                    var a = new SignalAction
                    {
                        Signal = sig,
                        Handler = BitConverter.ToUInt64(out64),
                        Flags = BitConverter.ToUInt64(out64[8..]),
                        Restorer = BitConverter.ToUInt64(out64[16..]),
                        Mask = BitConverter.ToUInt64(out64[24..]),
                    };
                    if (a.Handler != 0 || a.Flags != 0 || a.Mask != 0)
                    {
                        img.Actions.Add(a);
                    }
                }
                else if ((ignored & bit) != 0)
                {
                    img.Actions.Add(new SignalAction { Signal = sig, Handler = 1 });
                }
            }

            for (int which = 0; which < 3; which++)
            {
                SyscallInjector.Check(leader, "getitimer", Nr.Getitimer, which, (long)scratch);
                memory.Read(scratch, out64[..32]);
                for (int i = 0; i < 4; i++)
                {
                    img.Itimers[(which * 4) + i] = BitConverter.ToInt64(out64[(i * 8)..]);
                }
            }
        }
        finally
        {
            memory.Write(scratch, saved);
        }
    }

    private static void EndAll(List<(Tracee T, InjectedThread I)> begun, ProcessMemory memory)
    {
        foreach ((Tracee t, InjectedThread inj) in begun)
        {
            SyscallInjector.HeldAs held = SyscallInjector.End(inj, memory, SyscallInjector.StackScratch(inj.Saved, PendingSignal.SiginfoSize), out int signal);
            if (t.GroupStopped)
            {
                ptrace(PTRACE_LISTEN, t.Tid, 0, 0); // back into its job-control stop
                continue;
            }

            switch (held)
            {
                case SyscallInjector.HeldAs.Seccomp:
                    break; // in the same seccomp stop again: the barrier (or the ordering) decodes it as before
                case SyscallInjector.HeldAs.Interrupt:
                    t.HeldSeccomp = false;
                    TraceeResumer.Hold(t, PTRACE_CONT, 0);
                    break;
                default:
                    t.HeldSeccomp = false;
                    TraceeResumer.Hold(t, PTRACE_CONT, signal);
                    break;
            }
        }
    }

    private static void Interrupt(Tracee t)
    {
        ptrace(PTRACE_INTERRUPT, t.Tid, 0, 0);
        int status;
        while (waitpid(t.Tid, &status, __WALL) < 0 && Interop.LastErrno == Errno.EINTR)
        {
        }
    }
}
