using Scoord.Interceptors.Syscalls;

namespace Scoord.Cli.Output;

/// <summary>
/// Which decoded arguments an operation has, so `log --json` prints null (not a meaningless 0) for
/// the others. Process events have none of them.
/// </summary>
internal static class OpArguments
{
    public static bool HasMode(OpCode op) => op is
        OpCode.Open or OpCode.Openat or OpCode.Openat2 or OpCode.Creat or OpCode.Mkdir or OpCode.Mkdirat
        or OpCode.Mknod or OpCode.Mknodat or OpCode.Chmod or OpCode.Fchmod or OpCode.Fchmodat or OpCode.Fchmodat2;

    public static bool HasFlags(OpCode op) => op is
        OpCode.Open or OpCode.Openat or OpCode.Openat2 or OpCode.Creat or OpCode.Linkat or OpCode.Unlinkat
        or OpCode.Renameat2 or OpCode.Fchmodat or OpCode.Fchmodat2 or OpCode.Fchownat or OpCode.Utimensat
        or OpCode.Fallocate or OpCode.Ioctl or OpCode.Mmap or OpCode.Mremap or OpCode.Mprotect
        or OpCode.Pwritev2 or OpCode.CopyFileRange or OpCode.Splice or OpCode.Vmsplice or OpCode.Tee
        or OpCode.Setxattr or OpCode.Lsetxattr or OpCode.Fsetxattr or OpCode.Setxattrat or OpCode.Removexattrat
        or OpCode.FileSetattr or OpCode.Msync or OpCode.SyncFileRange or OpCode.Mount or OpCode.Umount2
        or OpCode.Unshare or OpCode.Setns or OpCode.Dup3 or OpCode.Fcntl or OpCode.OpenTree or OpCode.MoveMount
        or OpCode.FsOpen or OpCode.OpenByHandleAt or OpCode.NameToHandleAt;

    public static bool HasOffset(OpCode op) => op is
        OpCode.Write or OpCode.Pwrite64 or OpCode.Writev or OpCode.Pwritev or OpCode.Pwritev2
        or OpCode.CopyFileRange or OpCode.Sendfile or OpCode.Splice or OpCode.Fallocate or OpCode.Ioctl
        or OpCode.Mmap or OpCode.SyncFileRange;

    public static bool HasLength(OpCode op) => op is
        OpCode.Write or OpCode.Pwrite64 or OpCode.Writev or OpCode.Pwritev or OpCode.Pwritev2
        or OpCode.CopyFileRange or OpCode.Sendfile or OpCode.Splice or OpCode.Vmsplice or OpCode.Tee
        or OpCode.Truncate or OpCode.Ftruncate or OpCode.Fallocate or OpCode.Ioctl or OpCode.Mmap
        or OpCode.Mremap or OpCode.Mprotect or OpCode.Msync or OpCode.SyncFileRange;

    public static bool IsFork(OpCode op) => op is OpCode.Fork or OpCode.Vfork or OpCode.Clone;
}
