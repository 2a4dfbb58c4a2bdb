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
