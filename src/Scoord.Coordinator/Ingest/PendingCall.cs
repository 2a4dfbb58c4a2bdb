using Scoord.Coordinator.Undo;
using Scoord.Interceptors.Decoding;
using Scoord.Interceptors.Syscalls;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Ingest;

/// <summary>
/// A journaled call between its INTENT and its completion: its sequence number, the next undo part, and
/// where to read the state it leaves (the post-state, recorded at the exit stop). One per traced thread,
/// reused (no allocation per call once its buffers have grown).
/// </summary>
internal sealed class PendingCall
{
    /// <summary>Sequence number of the intent; 0 when no call is pending.</summary>
    public ulong Seq;
    public OpCode Op;
    /// <summary>Next undo part number (undo items before, post-states after the syscall).</summary>
    public uint NextPart;
    /// <summary>The tracee's fd the call wrote through (-1: the post-state is read by path).</summary>
    public int PostFd = -1;
    /// <summary>scoord's copy of <see cref="PostFd"/>, owned from the seccomp stop to the exit stop.</summary>
    public int PostDup = -1;
    public readonly PostTarget Post1 = new();
    public readonly PostTarget Post2 = new();
    /// <summary>The call creates the object of Post1 (its identity is "born" in the epoch at the exit stop).</summary>
    public bool Creates;

    /// <summary>An fd op on a file whose name is gone: its post-state records no path.</summary>
    public bool Deleted;

    /// <summary>A writable shared mmap: what to remember at its exit stop.</summary>
    public bool Mapping;
    public long MapLength;
    public long MapOffset;
    public ulong MapDev;
    public ulong MapIno;

    /// <summary>
    /// The call's intent is in the batch: remember what its exit stop records. Takes over the call's fd
    /// copy when the plan reads the post-state through it (the caller closes it otherwise).
    /// </summary>
    public void Begin(ulong seq, uint nextPart, in DecodedCall call, in UndoPlan plan)
    {
        Seq = seq;
        Op = call.Op;
        NextPart = nextPart;
        PostFd = -1;
        Post1.Active = false;
        Post2.Active = false;
        if (plan.PostFromFd)
        {
            PostFd = call.Fd;
            PostDup = call.DupFd;
            Post1.Set(default, call.Path.Display, true);
            Post1.Active = false; // the post-state comes from the fd; only the display path is kept
        }

        if (plan.Post1)
        {
            Post1.Set(call.Path.StatPathText, call.Path.Display, plan.Post1Follow);
        }

        if (plan.Post2)
        {
            Post2.Set(call.Path2.StatPathText, call.Path2.Display, false);
        }

        Creates = plan.Creates;
        Deleted = call.Deleted;
        if (plan.Mapping)
        {
            Mapping = true;
            MapLength = call.Length;
            MapOffset = call.Offset;
            MapDev = call.Dev;
            MapIno = call.Ino;
        }
    }

    /// <summary>The call completed, or was refused after all: forget it (its post-state targets keep their paths).</summary>
    public void End()
    {
        Mapping = false;
        Creates = false;
        CloseDup();
        Seq = 0;
    }

    /// <summary>Closes scoord's copy of the fd, kept from the seccomp stop to the exit stop.</summary>
    public void CloseDup()
    {
        if (PostDup >= 0)
        {
            close(PostDup);
            PostDup = -1;
        }
    }

    public byte[] Post1Display() => Post1.DisplayPath.ToArray();
}
