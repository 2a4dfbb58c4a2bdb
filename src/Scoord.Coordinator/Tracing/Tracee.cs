using Scoord.Journal.Model;
using Scoord.Interceptors;
using Scoord.Interceptors.Syscalls;

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
    /// <summary>Id of the application of the group this process belongs to (1: the one `scoord run` started); inherited at fork.</summary>
    public int App;
    /// <summary>Writable shared mappings of files (null until the first); see Tracer.Mappings.</summary>
    public List<Tracer.SharedMapping>? Mappings;
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
    /// <summary>Next undo part number of the pending intent (undo items before, post-states after the syscall).</summary>
    public uint NextPart;
    /// <summary>Where to read the state the pending op leaves: the tracee's fd, or paths resolvable by scoord.</summary>
    public int PostFd = -1;
    /// <summary>scoord's duplicate (pidfd_getfd) of PostFd, kept open while the op runs, for its post-state.</summary>
    public int PostDup = -1;
    public PostTarget Post1 = new();
    public PostTarget Post2 = new();

    /// <summary>The pending op is a writable shared mmap: what to remember at its exit stop.</summary>
    public bool MapPending;
    public long MapLength;
    public long MapOffset;
    public ulong MapDev;
    public ulong MapIno;

    public byte[] Post1Display() => Post1.Display.AsSpan(0, Post1.DisplayLen).ToArray();

    /// <summary>The pending op creates the object of Post1 (its identity is "born" in the epoch at the exit stop).</summary>
    public bool Creates;

    /// <summary>The op code of the pending journaled op.</summary>
    public OpCode PendingOp;
    /// <summary>A close of a dirty application checkpoint file is running; checkpoint at its exit.</summary>
    public bool AppClosePending;
    public ulong AppCloseDev;
    public ulong AppCloseIno;

    /// <summary>Held in a stop by a checkpoint barrier; resumed with HeldRequest/HeldSignal after it.</summary>
    public bool Held;
    public bool HeldSeccomp;
    public int HeldRequest;
    public int HeldSignal;
    /// <summary>Identities (dev, ino) its journaled op in flight touches (see Tracer.Ordering).</summary>
    public readonly (ulong Dev, ulong Ino)[] InFlightIds = new (ulong, ulong)[8];
    public int InFlightCount;
    /// <summary>Held in its seccomp stop until a conflicting op in flight completes.</summary>
    public bool Parked;
    /// <summary>The identity whose op in flight made this one park: it is decoded again once that is released.</summary>
    public (ulong Dev, ulong Ino) ParkedOn;

    /// <summary>In a group-stop we answered with PTRACE_LISTEN.</summary>
    public bool GroupStopped;
    /// <summary>
    /// This thread vforked <see cref="VforkChild"/>, which has not exec'd or exited yet: once resumed it
    /// waits in the kernel (uninterruptibly) until the child does; a barrier cannot stop it, and need
    /// not while the child is held (it makes no syscall meanwhile).
    /// </summary>
    public int VforkChild;
    /// <summary>The thread waiting for this vfork child to exec or exit (see <see cref="VforkChild"/>).</summary>
    public Tracee? VforkParent;
    /// <summary>An exec of this thread has been seen.</summary>
    public bool ExecSeen;

    /// <summary>False until the first stop of an auto-attached child has been seen.</summary>
    public bool Started;
    /// <summary>The injected syscall replaced a syscall at its entry, which must be restarted afterwards.</summary>
    public bool GuardAtEntry;
}

/// <summary>A path (kernel-resolvable and display form) whose state is recorded at the exit stop.</summary>
internal sealed class PostTarget
{
    public byte[] Stat = [];
    public int StatLen;
    public byte[] Display = [];
    public int DisplayLen;
    public bool Follow;
    public bool Active;

    public void Set(ReadOnlySpan<byte> stat, ReadOnlySpan<byte> display, bool follow)
    {
        if (Stat.Length < stat.Length + 1)
        {
            Stat = new byte[Math.Max(stat.Length + 1, 4160)];
            Display = new byte[Math.Max(display.Length, 4160)];
        }

        if (Display.Length < display.Length)
        {
            Display = new byte[display.Length];
        }

        stat.CopyTo(Stat);
        Stat[stat.Length] = 0;
        StatLen = stat.Length;
        display.CopyTo(Display);
        DisplayLen = display.Length;
        Follow = follow;
        Active = true;
    }
}
