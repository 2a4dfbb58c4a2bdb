using Scoord.Journal;

namespace Scoord.Coordinator.Memory;

/// <summary>
/// The memory checkpoint cannot be taken: the tree holds something a restore could not bring back (a socket
/// to the outside, io_uring, SysV IPC, a device, a process outside the tree...). One line naming the process
/// and the resource; the checkpoint fails and nothing is written.
/// </summary>
internal sealed class MemoryRefusedException(string message) : ScoordException(message)
{
    public static MemoryRefusedException For(int pid, string comm, string what) => new($"pid {pid} ({comm}): {what}");
}
