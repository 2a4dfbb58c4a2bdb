namespace Scoord.Interceptors.Syscalls;

/// <summary>How the seccomp filter treats a syscall (what BPF checks before deciding to stop).</summary>
public enum SyscallClass : byte
{
    /// <summary>Cannot change files: passes without a stop.</summary>
    Allow = 0,
    /// <summary>Always stops.</summary>
    Trace,
    /// <summary>Stops only when the open flags in <see cref="SyscallEntry.FlagsArg"/> ask for writing, creating or truncating.</summary>
    OpenFlags,
    /// <summary>Changes the file behind the fd in <see cref="SyscallEntry.FdArg"/>; writes to a stdio fd that is not a regular file pass.</summary>
    FdMutate,
    /// <summary>dup2/dup3: stops only when the new fd is 0, 1 or 2 (a regular file landing on stdio).</summary>
    DupTarget,
    /// <summary>fcntl: stops only for F_DUPFD/F_DUPFD_CLOEXEC with a lowest fd of 0-2.</summary>
    FcntlDup,
    /// <summary>ioctl: stops only for requests that change file content or attributes (FICLONE ...).</summary>
    Ioctl,
    /// <summary>mmap: stops only for a writable shared mapping of a file.</summary>
    MmapShared,
    /// <summary>fsync and friends: stop only under --durability sync-points or strict.</summary>
    Sync,
    /// <summary>clone/unshare: stop only when the flags ask for a new mount or user namespace.</summary>
    NamespaceFlags,
    /// <summary>close: stops only under --app-checkpoint (a checkpoint file closed after writing is a rollback point).</summary>
    CloseIfAsked,
    /// <summary>execve/execveat: stop only under the fast path (the preload must survive an edited environment).</summary>
    ExecFastPath,
    /// <summary>seccomp: stops only under the fast path (a filter of the app's own switches it off for that process).</summary>
    SeccompFastPath,
    /// <summary>prctl: stops only under the fast path, and only for PR_SET_SECCOMP.</summary>
    PrctlSeccomp,
    /// <summary>mprotect, munmap, mremap, pkey_mprotect, shmat: stop only under the fast path, for addresses below 4 GiB (the stub page).</summary>
    AddressGuard,
}

/// <summary>What the tracer does with a stopped syscall of this kind.</summary>
public enum DecodeKind : byte
{
    None = 0,
    /// <summary>open/openat/creat: a path, open flags and a mode.</summary>
    Open,
    /// <summary>openat2: flags and mode live in struct open_how.</summary>
    Openat2,
    /// <summary>One path names the object (mkdir, unlink, chmod, truncate, utimes, setxattr ...).</summary>
    Path,
    /// <summary>Two paths (rename, link): path = old, path2 = new.</summary>
    TwoPaths,
    /// <summary>symlink: path = the link created, path2 = its target text (not resolved).</summary>
    Symlink,
    /// <summary>The object is the file behind an fd (write, ftruncate, fchmod ...).</summary>
    Fd,
    /// <summary>utimensat: path may be NULL, then it acts on the fd.</summary>
    PathOrFd,
    /// <summary>bind: journaled only for AF_UNIX path sockets.</summary>
    Bind,
    /// <summary>dup2/dup3/fcntl(F_DUPFD) onto fd 0-2.</summary>
    Dup,
    /// <summary>mmap with MAP_SHARED and PROT_WRITE of a file.</summary>
    Mmap,
    /// <summary>ioctl that changes a file.</summary>
    Ioctl,
    /// <summary>fsync family: a durability point.</summary>
    Sync,
    /// <summary>clone3: flags in memory; refused only when asking for a new mount/user namespace.</summary>
    Clone3,
    /// <summary>close under --app-checkpoint: not journaled; may end an application checkpoint file.</summary>
    Close,
    /// <summary>Cannot be journaled: refused with <see cref="SyscallEntry.RefuseErrno"/>.</summary>
    Refuse,
    /// <summary>execve/execveat under the fast path: the preload and its ring stay in the new environment.</summary>
    Exec,
    /// <summary>seccomp, prctl(PR_SET_SECCOMP) under the fast path: the process goes the ptrace way from now on; also the hooks' notify.</summary>
    SeccompFilter,
    /// <summary>A mapping change below 4 GiB under the fast path: refused when it touches the stub page.</summary>
    AddressGuard,
}
