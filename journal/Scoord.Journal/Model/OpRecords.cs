using System.Runtime.InteropServices;
using Scoord.Interceptors.Decoding;
using Scoord.Interceptors.Syscalls;

namespace Scoord.Journal.Model;

/// <summary>Flags of an intent record.</summary>
[Flags]
public enum IntentFlags : ushort
{
    None = 0,
    /// <summary>scoord refused the syscall (it never reached the kernel); InjectedErrno says with what.</summary>
    Refused = 1,
    /// <summary>The syscall came through a non-native ABI (i386 int 0x80 or x32).</summary>
    ForeignAbi = 2,
    /// <summary>Path could not be read completely from the process (bad pointer, over PATH_MAX).</summary>
    PathUnreadable = 4,
    /// <summary>The operation was performed by `scoord rollback` (restoring a checkpoint), not by the app.</summary>
    Rollback = 8,
    /// <summary>An operation on an open file whose last name was removed: the path is the name it had.</summary>
    Deleted = 16,
    /// <summary>
    /// scoord itself failed while handling this stop (an internal error): the syscall was failed with
    /// InjectedErrno (EIO, ENOSYS when not understood) instead of crashing the program; path2 says what failed.
    /// </summary>
    Fault = 32,
}

/// <summary>
/// The fixed-size part of an INTENT record: what was decoded of an operation before it ran,
/// before the kernel performed the operation. Strings (path, path2) travel beside it as spans so
/// a producer's hot path fills this struct on its stack and allocates nothing.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct OpIntent
{
    public long TimeNs;        // CLOCK_REALTIME, ns since the epoch
    public int Pid;            // thread-group id
    public int Tid;            // thread id
    public OpCode Op;
    public IntentFlags Flags;
    public int Fd;             // fd argument (-1 if none; AT_FDCWD is -100)
    public ulong OpFlags;      // open flags, rename flags, at-flags, fallocate mode, ioctl request...
    public uint Mode;          // mode argument; uid for chown (Owner below)
    public int InjectedErrno;  // errno scoord answered with when Refused
    public long Offset;        // file offset (pwrite, fallocate, ...), -1 = the fd's current offset
    public long Length;        // byte count / new size
    public uint Uid;           // chown
    public uint Gid;           // chown
    public ulong Dev;          // identity of the object before the op (0 if absent/unknown)
    public ulong Ino;
    public ObjectKind Kind;
}

/// <summary>The COMPLETION record: the kernel's answer, read at the syscall-exit stop.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct OpCompletion
{
    public long TimeNs;
    public long Result;   // the syscall's return value (>= 0) or -1 when it failed
    public int Errno;     // 0 on success, else the positive errno
    public ulong Dev;     // identity of the object after the op (0 if gone/unknown)
    public ulong Ino;
}

/// <summary>A process-tree event: fork/vfork/clone of a new process, exec, exit.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct ProcessEvent
{
    public long TimeNs;
    public OpCode Kind;     // Fork, Vfork, Clone, Exec or Exit
    public int Pid;
    public int Ppid;        // for Fork/Vfork/Clone: the parent; for Exec: the former tid when a non-leader thread exec'd
    public int ExitCode;    // Exit: exit status when exited normally, else -1
    public int Signal;      // Exit: terminating signal, else 0
    public ulong CloneFlags;
}
