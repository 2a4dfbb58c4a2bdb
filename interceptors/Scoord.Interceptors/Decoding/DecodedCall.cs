using System.Runtime.CompilerServices;
using Scoord.Interceptors.Syscalls;

namespace Scoord.Interceptors.Decoding;

/// <summary>
/// Everything the decoder learnt about one stopped syscall, as explicit data: the arguments the record
/// keeps, the object and its identity as found before the call, the resolved paths (display form and a
/// form scoord can stat), their parent directories, scoord's copy of an fd argument, and the identities
/// the call touches (for ordering). What the undo planner and the journal ingest consume; nothing else
/// is handed over between decode and capture. The path spans point into the decoder's buffers (or, for
/// another producer, wherever it keeps them) and are valid until the next decode.
/// </summary>
internal ref struct DecodedCall
{
    public const int MaxIdentities = 8;

    public OpCode Op;
    public Verdict Verdict;
    /// <summary>The errno a refused call gets (journal protection: EACCES).</summary>
    public Errno RefuseErrno;

    /// <summary>The fd argument (-1 if none; AT_FDCWD is -100).</summary>
    public int Fd;
    /// <summary>Open flags, at-flags, rename flags, fallocate mode, ioctl request; for writes the fd's status flags.</summary>
    public ulong OpFlags;
    public uint Mode;
    /// <summary>File offset; -1 where the op uses the fd's own offset and it could not be read.</summary>
    public long Offset;
    /// <summary>Byte count or new size; -1 if none (writev: the iovecs' total, -1 when the kernel will refuse them).</summary>
    public long Length;
    public uint Uid;
    public uint Gid;

    /// <summary>The object before the call (first path, or the file behind the fd).</summary>
    public ObjectKind Kind;
    public ulong Dev;
    public ulong Ino;

    /// <summary>The first path could not be read from the tracee or resolved: the kernel will fail the call.</summary>
    public bool PathUnreadable;

    /// <summary>The call came through a non-native ABI (i386 int 0x80, x32): refused without decoding.</summary>
    public bool ForeignAbi;

    /// <summary>fd ops: the name the fd was opened by is gone (the kernel's " (deleted)" is stripped from <see cref="Path"/>).</summary>
    public bool Deleted;

    /// <summary>The path argument (rename and link: the old name); for fd ops, the fd's path as the kernel shows it.</summary>
    public DecodedPath Path;

    /// <summary>rename and link: the new name; symlink: the target text, as written (not resolved).</summary>
    public DecodedPath Path2;

    /// <summary>fd ops: scoord's copy of the tracee's fd (journaled calls only; the consumer closes it), else -1.</summary>
    public int DupFd;

    /// <summary>fstat of <see cref="DupFd"/>.</summary>
    public Interop.Stat DupStat;

    /// <summary>copy_file_range and splice: where the bytes land in the output file (the off_out pointer's value, or the fd's offset).</summary>
    public long OutOffset;

    /// <summary>The call may give an inode number out (a creation) or free one (a removal): see the ordering rules.</summary>
    public bool AllocatesInode;
    public bool FreesInode;

    /// <summary>Identities the call touches (objects and parent directories), in the order found.</summary>
    public IdentityList Identities;
    public int IdentityCount;

    public static DecodedCall For(in SyscallEntry entry) => new()
    {
        Op = entry.Op,
        Fd = -1,
        Offset = -1,
        Length = -1,
        DupFd = -1,
    };

    /// <summary>A call refused without decoding (unknown number, refused kinds, foreign ABIs): the syscall number as its flags.</summary>
    public static DecodedCall Refused(OpCode op, Errno errno, ulong nr, bool foreignAbi) => new()
    {
        Op = op,
        Verdict = Verdict.Refuse,
        RefuseErrno = errno,
        OpFlags = nr,
        ForeignAbi = foreignAbi,
        Fd = -1,
        Offset = -1,
        Length = -1,
        DupFd = -1,
    };

    public void AddIdentity(ulong dev, ulong ino)
    {
        if (IdentityCount < MaxIdentities)
        {
            Identities[IdentityCount++] = (dev, ino);
        }
    }

    [InlineArray(MaxIdentities)]
    public struct IdentityList
    {
        private (ulong Dev, ulong Ino) _first;
    }
}

/// <summary>A path argument as resolved by the decoder.</summary>
internal ref struct DecodedPath
{
    /// <summary>Absolute and normalised (a followed final symlink replaced by its target): what the journal records.</summary>
    public ReadOnlySpan<byte> Display;

    /// <summary>
    /// The same object in a form scoord can stat (through /proc/TID/... for relative paths), NUL included;
    /// empty when the path was not resolved (unreadable).
    /// </summary>
    public ReadOnlySpan<byte> StatPath;

    /// <summary>The call follows a final symlink of this path.</summary>
    public bool Follow;

    /// <summary>The path could not be read from the tracee, or not resolved.</summary>
    public bool Unreadable;

    /// <summary>Identity of the parent directory, (0, 0) when it could not be stat'ed.</summary>
    public (ulong Dev, ulong Ino) Parent;

    /// <summary>Identity of the object the path named at the decode, (0, 0) when it named nothing.</summary>
    public (ulong Dev, ulong Ino) Object;

    /// <summary><see cref="StatPath"/> without its NUL.</summary>
    public readonly ReadOnlySpan<byte> StatPathText => StatPath.IsEmpty ? default : StatPath[..^1];
}
