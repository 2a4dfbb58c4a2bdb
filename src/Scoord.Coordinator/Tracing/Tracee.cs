using Scoord.Coordinator.Ingest;
using Scoord.Interceptors;

namespace Scoord.Coordinator.Tracing;

/// <summary>What the tracer knows about one traced thread.</summary>
internal sealed class Tracee
{
    public int Tid;
    public TracedProcess Process = null!;
    public TraceeState State;
    /// <summary>The journaled call this thread is in (between its seccomp stop and its exit stop).</summary>
    public readonly PendingCall Pending = new();
    /// <summary>A pidfd of this thread (PIDFD_THREAD), opened on first need; used with pidfd_getfd.</summary>
    public int PidFd = -1;
    /// <summary>Registers saved while a syscall is injected.</summary>
    public Interop.UserRegs SavedRegs;
    /// <summary>The journaled syscall is an open whose resulting fd must be checked for landing on 0-2.</summary>
    public bool CheckOpenResult;

    /// <summary>A close of a dirty application checkpoint file is running; checkpoint at its exit.</summary>
    public bool AppClosePending;
    public ulong AppCloseDev;
    public ulong AppCloseIno;

    /// <summary>Held in a stop by a checkpoint barrier; resumed with HeldRequest/HeldSignal after it.</summary>
    public bool Held;
    public bool HeldSeccomp;
    public int HeldRequest;
    public int HeldSignal;
    /// <summary>Identities (dev, ino) its journaled op in flight touches (see <see cref="InFlightOps"/>).</summary>
    public readonly (ulong Dev, ulong Ino)[] InFlightIds = new (ulong, ulong)[Interceptors.Decoding.DecodedCall.MaxIdentities + 3];
    public int InFlightCount;
    /// <summary>Claims on the fast path's ring its journaled op in flight holds (see <see cref="InFlightOps"/>).</summary>
    public readonly uint[] RingClaims = new uint[Interceptors.Decoding.DecodedCall.MaxIdentities + 3];
    public int RingClaimCount;
    /// <summary>Held in its seccomp stop until a conflicting op in flight completes.</summary>
    public bool Parked;
    /// <summary>Parked behind a hook's call in flight (a claim in the ring), not a traced one.</summary>
    public bool ParkedOnRing;
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

    /// <summary>A copy of this thread's fd <paramref name="fd"/> in scoord (pidfd_getfd, close-on-exec); -1 if it is not open.</summary>
    public int DuplicateFd(int fd)
    {
        if (fd < 0)
        {
            return -1;
        }

        if (PidFd < 0)
        {
            PidFd = Interop.Libc.pidfd_open(Tid, Interop.Libc.PIDFD_THREAD);
            if (PidFd < 0)
            {
                PidFd = Interop.Libc.pidfd_open(Process.Tgid, 0);
            }

            if (PidFd < 0)
            {
                return -1;
            }
        }

        return Interop.Libc.pidfd_getfd(PidFd, fd, 0);
    }

    /// <summary>The thread is gone (or exec'd into another tid): its fds in scoord are closed.</summary>
    public void CloseFds()
    {
        Pending.CloseDup();
        if (PidFd >= 0)
        {
            Interop.Libc.close(PidFd);
            PidFd = -1;
        }
    }

    /// <summary>A vfork child exec'd or exited: its parent runs again (and a barrier in progress must stop it).</summary>
    public void VforkDone()
    {
        if (VforkParent is not { } parent)
        {
            return;
        }

        VforkParent = null;
        if (parent.VforkChild == Tid)
        {
            parent.VforkChild = 0;
        }
    }
}
