using Scoord.Interceptors;
using Scoord.Journal.Memory;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Memory;

/// <summary>
/// Runs syscalls inside a stopped tracee, driven by ptrace from the tracer thread: the thread's registers
/// are pointed at a syscall instruction (the gadget, found in the [vdso] every process has) with the number
/// and arguments loaded, and it is resumed to that syscall's exit stop. The dump asks this way what no
/// /proc file shows (signal handlers, the alternate stack, clear_child_tid, timers); the restore builds a
/// whole process this way.
/// </summary>
/// <remarks>
/// A thread can be in any stop when the barrier holds it. <see cref="Begin"/> first brings it to a clean
/// syscall-exit stop (a seccomp or entry stop is completed with the syscall skipped; a fork or exec event is
/// let finish its syscall; a signal-delivery-stop's signal is kept to be queued again), and <see cref="End"/>
/// puts it back exactly: its registers, its signals, and the same kind of stop (a PTRACE_INTERRUPT stop,
/// which resumes as the original stop would, including the kernel's restart of an interrupted syscall, or a
/// seccomp stop of the same syscall, executed again).
/// </remarks>
internal static unsafe class SyscallInjector
{
    private const int SiginfoSize = PendingSignal.SiginfoSize;
    private static ulong s_vdsoOffset = ulong.MaxValue;

    /// <summary>Offset of a syscall instruction (0F 05) in the kernel's [vdso] (the same in every process of a boot).</summary>
    public static ulong VdsoSyscallOffset
    {
        get
        {
            if (s_vdsoOffset == ulong.MaxValue)
            {
                s_vdsoOffset = FindVdsoSyscall();
            }

            return s_vdsoOffset;
        }
    }

    /// <summary>The gadget of a process: its [vdso] start plus <see cref="VdsoSyscallOffset"/>.</summary>
    public static ulong Gadget(ulong vdsoStart) => vdsoStart + VdsoSyscallOffset;

    private static ulong FindVdsoSyscall()
    {
        byte[]? maps = ProcFile.Read("/proc/self/maps");
        if (maps is not null)
        {
            foreach (MappedArea a in MappedArea.ParseSmaps(maps))
            {
                if (a.PathText == "[vdso]")
                {
                    var code = new ReadOnlySpan<byte>((void*)a.Start, checked((int)a.Length));
                    int at = code.IndexOf([(byte)0x0f, (byte)0x05]);
                    if (at >= 0)
                    {
                        return (ulong)at;
                    }
                }
            }
        }

        throw new InjectionException("no syscall instruction in this kernel's [vdso]: memory checkpoints need one");
    }

    /// <summary>Prepares <paramref name="tid"/> (in any ptrace stop) for injected syscalls.</summary>
    public static InjectedThread Begin(int tid, int tgid, ulong gadget)
    {
        var t = new InjectedThread { Tid = tid, Tgid = tgid, Gadget = gadget };
        Interop.UserRegs regs;
        if (ptrace(PTRACE_GETREGS, tid, 0, (nint)(&regs)) != 0)
        {
            throw new InjectionException($"cannot read the registers of thread {tid}: {Interop.LastErrno}");
        }

        t.Saved = regs;
        Interop.PtraceSyscallInfo info;
        if (ptrace(PTRACE_GET_SYSCALL_INFO, tid, sizeof(Interop.PtraceSyscallInfo), (nint)(&info)) <= 0)
        {
            throw new InjectionException($"cannot read the stop of thread {tid}: {Interop.LastErrno}");
        }

        switch (info.op)
        {
            case PTRACE_SYSCALL_INFO_EXIT:
                break;
            case PTRACE_SYSCALL_INFO_ENTRY:
            case PTRACE_SYSCALL_INFO_SECCOMP:
                // Let the syscall go by without running (nr -1), to its exit stop; it runs again after End.
                t.Restart = true;
                t.AtSeccomp = info.op == PTRACE_SYSCALL_INFO_SECCOMP;
                regs.orig_rax = ulong.MaxValue;
                ptrace(PTRACE_SETREGS, tid, 0, (nint)(&regs));
                Resume(t, PTRACE_SYSCALL);
                WaitSyscallExit(t);
                break;
            default:
                byte* si = stackalloc byte[SiginfoSize];
                if (ptrace(PTRACE_GETSIGINFO, tid, 0, (nint)si) != 0)
                {
                    break; // a group-stop or PTRACE_INTERRUPT stop: usable as it is
                }

                int signo = *(int*)si;
                int code = *(int*)(si + 8);
                if (signo == SIGTRAP && (code >> 8) != 0)
                {
                    int evt = code >> 8;
                    if (evt == PTRACE_EVENT_EXIT)
                    {
                        throw new InjectionException($"thread {tid} is exiting");
                    }

                    if (evt == PTRACE_EVENT_STOP)
                    {
                        // A PTRACE_INTERRUPT stop (or a new child's first stop): usable as it is. Resuming it to
                        // "finish its syscall" would wait for a blocked read or sleep to end.
                        break;
                    }

                    // A fork, clone or exec event inside its syscall: finish the syscall first.
                    Resume(t, PTRACE_SYSCALL);
                    WaitSyscallExit(t);
                    ptrace(PTRACE_GETREGS, tid, 0, (nint)(&regs));
                    t.Saved = regs;
                }
                else
                {
                    Defer(t, si); // a signal-delivery-stop: resuming with signal 0 takes it off; queued again at End
                }

                break;
        }

        return t;
    }

    /// <summary>Runs one syscall; returns its result (a negative errno on failure).</summary>
    public static long Call(InjectedThread t, long nr, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0, long a6 = 0)
    {
        Interop.UserRegs regs = t.Saved;
        regs.rip = t.Gadget;
        regs.rax = (ulong)nr;
        regs.orig_rax = ulong.MaxValue; // no syscall restart of whatever stop it was in
        regs.rdi = (ulong)a1;
        regs.rsi = (ulong)a2;
        regs.rdx = (ulong)a3;
        regs.r10 = (ulong)a4;
        regs.r8 = (ulong)a5;
        regs.r9 = (ulong)a6;
        if (ptrace(PTRACE_SETREGS, t.Tid, 0, (nint)(&regs)) != 0)
        {
            throw new InjectionException($"cannot set the registers of thread {t.Tid}: {Interop.LastErrno}");
        }

        Resume(t, PTRACE_SYSCALL);
        return WaitSyscallExit(t);
    }

    /// <summary>Like <see cref="Call"/>, but a failure throws, naming <paramref name="what"/>.</summary>
    public static long Check(InjectedThread t, string what, long nr, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0, long a6 = 0)
    {
        long r = Call(t, nr, a1, a2, a3, a4, a5, a6);
        if (r < 0 && r > -4096)
        {
            throw new InjectionException($"{what} failed in pid {t.Tgid} (thread {t.Tid}): {(Errno)(int)-r}");
        }

        return r;
    }

    /// <summary>What the thread is held in after <see cref="End"/>, for the barrier to resume it by.</summary>
    internal enum HeldAs
    {
        /// <summary>A PTRACE_INTERRUPT stop: resume with PTRACE_CONT.</summary>
        Interrupt,
        /// <summary>A seccomp stop of the syscall it had stopped at: decode it as usual.</summary>
        Seccomp,
        /// <summary>A signal-delivery-stop (of <c>signal</c>): resume with PTRACE_CONT and the signal.</summary>
        Signal,
    }

    /// <summary>
    /// Puts the thread back: its signals queued again (through <paramref name="scratch"/>, 128 bytes of its
    /// memory that <paramref name="memory"/> saves and restores), its registers, its kind of stop.
    /// </summary>
    public static HeldAs End(InjectedThread t, ProcessMemory memory, ulong scratch, out int signal)
    {
        signal = 0;
        if (t.Deferred.Count > 0)
        {
            Span<byte> saved = stackalloc byte[SiginfoSize];
            memory.Read(scratch, saved);
            foreach (PendingSignal s in t.Deferred)
            {
                memory.Write(scratch, s.Siginfo);
                Call(t, Nr.RtTgsigqueueinfo, t.Tgid, t.Tid, s.Signal, (long)scratch);
            }

            memory.Write(scratch, saved);
        }

        Interop.UserRegs regs = t.Saved;
        if (t.Restart)
        {
            regs.rip -= 2;
            regs.rax = regs.orig_rax;
        }

        ptrace(PTRACE_SETREGS, t.Tid, 0, (nint)(&regs));
        if (!t.AtSeccomp)
        {
            ptrace(PTRACE_INTERRUPT, t.Tid, 0, 0);
        }

        Resume(t, PTRACE_CONT);
        while (true)
        {
            int status = Wait(t);
            int sig = WSTOPSIG(status);
            int evt = status >> 16;
            if (t.AtSeccomp && sig == SIGTRAP && evt == PTRACE_EVENT_SECCOMP)
            {
                return HeldAs.Seccomp;
            }

            if (!t.AtSeccomp && evt == PTRACE_EVENT_STOP)
            {
                return HeldAs.Interrupt;
            }

            if (sig == (SIGTRAP | 0x80) || (sig == SIGTRAP && evt != 0))
            {
                Resume(t, PTRACE_CONT); // not expected; let it reach the stop asked for
                continue;
            }

            signal = sig; // a signal came first: it stays held in its delivery stop, as the barrier would hold it
            return HeldAs.Signal;
        }
    }

    /// <summary>Memory of the thread's stack below its red zone, usable as scratch while it is stopped (saved and restored by the caller).</summary>
    public static ulong StackScratch(in Interop.UserRegs regs, int size) => (regs.rsp - 128 - (ulong)size - 64) & ~0xFUL;

    private static void Resume(InjectedThread t, int request)
    {
        if (ptrace(request, t.Tid, 0, 0) != 0)
        {
            throw new InjectionException($"cannot resume thread {t.Tid}: {Interop.LastErrno}");
        }
    }

    private static int Wait(InjectedThread t)
    {
        int status;
        while (true)
        {
            int r = waitpid(t.Tid, &status, __WALL);
            if (r < 0 && Interop.LastErrno == Errno.EINTR)
            {
                continue;
            }

            if (r < 0)
            {
                throw new InjectionException($"waiting for thread {t.Tid}: {Interop.LastErrno}");
            }

            if (WIFEXITED(status) || WIFSIGNALED(status))
            {
                throw new InjectionException($"thread {t.Tid} ended while scoord was running a syscall in it ({(WIFEXITED(status) ? "exit " + WEXITSTATUS(status) : "signal " + WTERMSIG(status))})");
            }

            return status;
        }
    }

    /// <summary>Resumes through the stops on the way (entry, seccomp, clone events, signals kept) until the syscall's exit stop; returns its result.</summary>
    private static long WaitSyscallExit(InjectedThread t)
    {
        byte* si = stackalloc byte[SiginfoSize];
        while (true)
        {
            int status = Wait(t);
            int sig = WSTOPSIG(status);
            int evt = status >> 16;
            if (sig == (SIGTRAP | 0x80))
            {
                Interop.PtraceSyscallInfo info;
                ptrace(PTRACE_GET_SYSCALL_INFO, t.Tid, sizeof(Interop.PtraceSyscallInfo), (nint)(&info));
                if (info.op == PTRACE_SYSCALL_INFO_EXIT)
                {
                    return info.rval;
                }

                Resume(t, PTRACE_SYSCALL);
                continue;
            }

            if (sig == SIGTRAP && evt is PTRACE_EVENT_FORK or PTRACE_EVENT_VFORK or PTRACE_EVENT_CLONE)
            {
                nint child = 0;
                ptrace(PTRACE_GETEVENTMSG, t.Tid, 0, (nint)(&child));
                t.Children.Add((int)child);
                Resume(t, PTRACE_SYSCALL);
                continue;
            }

            if ((sig == SIGTRAP && evt != 0) || evt == PTRACE_EVENT_STOP)
            {
                Resume(t, PTRACE_SYSCALL); // seccomp stop of the injected call, or a group-stop/interrupt on the way
                continue;
            }

            if (sig is 4 or 7 or 8 or 11)
            {
                // SIGILL, SIGBUS, SIGFPE, SIGSEGV: a fault of the injected call's own instruction; taking it off would loop.
                Interop.UserRegs at;
                ptrace(PTRACE_GETREGS, t.Tid, 0, (nint)(&at));
                throw new InjectionException($"thread {t.Tid} faulted (signal {sig}) at 0x{at.rip:x} while scoord ran a syscall in it");
            }

            if (ptrace(PTRACE_GETSIGINFO, t.Tid, 0, (nint)si) == 0)
            {
                Defer(t, si);
            }

            Resume(t, PTRACE_SYSCALL); // the signal is taken off (signal 0) and queued again at End
        }
    }

    private static void Defer(InjectedThread t, byte* si)
    {
        var s = new PendingSignal { Signal = *(int*)si };
        new ReadOnlySpan<byte>(si, SiginfoSize).CopyTo(s.Siginfo);
        t.Deferred.Add(s);
    }
}
