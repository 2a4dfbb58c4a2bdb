using Scoord.Interceptors;

namespace Scoord.Coordinator.Tracing;

internal enum TraceeState : byte
{
    /// <summary>Running or stopped without anything of ours in flight.</summary>
    Running,
    /// <summary>Resumed into a journaled syscall; the syscall-exit stop completes its record.</summary>
    InJournaledSyscall,
    /// <summary>Running the injected seccomp() that adds the stdio guard; then the original syscall is restarted.</summary>
    InjectingGuard,
}

/// <summary>What the tracer knows about one thread-group (process).</summary>
internal sealed class TracedProcess
{
    public int Tgid;
    public int Ppid;
    /// <summary>The stdio guard filter is installed: fd-mutating syscalls on fds 0-2 stop in this process.</summary>
    public bool StdioGuarded;
    public int Threads;
}

/// <summary>What the tracer knows about one traced thread.</summary>
internal sealed class Tracee
{
    public int Tid;
    public TracedProcess Process = null!;
    public TraceeState State;
    public ulong PendingSeq;
    /// <summary>A pidfd of this thread (PIDFD_THREAD), opened on first need; used with pidfd_getfd.</summary>
    public int PidFd = -1;
    /// <summary>Registers saved while a syscall is injected.</summary>
    public Interop.UserRegs SavedRegs;
    /// <summary>The journaled syscall is an open whose resulting fd must be checked for landing on 0-2.</summary>
    public bool CheckOpenResult;
    /// <summary>False until the first stop of an auto-attached child has been seen.</summary>
    public bool Started;
    /// <summary>The injected syscall replaced a syscall at its entry, which must be restarted afterwards.</summary>
    public bool GuardAtEntry;
}
