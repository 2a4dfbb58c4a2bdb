using Scoord.Interceptors;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Tracing;

/// <summary>
/// Every resume of a tracee goes through here, so that while a checkpoint barrier is up (<see cref="Holding"/>)
/// a tracee is held where it stopped instead, with the resume it would have got kept for later.
/// </summary>
internal sealed unsafe class TraceeResumer
{
    /// <summary>A barrier is up: resumes are held.</summary>
    public bool Holding { get; set; }

    public void Resume(Tracee t, int request, int signal)
    {
        if (Holding)
        {
            Hold(t, request, signal);
            return;
        }

        ptrace(request, t.Tid, 0, signal);
    }

    /// <summary>Keeps <paramref name="t"/> stopped; the barrier resumes it with <paramref name="request"/> when it ends.</summary>
    public static void Hold(Tracee t, int request, int signal)
    {
        t.Held = true;
        t.HeldRequest = request;
        t.HeldSignal = signal;
    }

    /// <summary>Makes the syscall fail with <paramref name="errno"/> without running it (seccomp-stop: nr = -1, rax = -errno).</summary>
    public void Refuse(Tracee t, Errno errno)
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
}
