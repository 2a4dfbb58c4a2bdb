namespace Scoord.Interceptors.Syscalls;

/// <summary>
/// Architecture-independent code of a journaled operation. The numbers are part of the
/// on-disk format (docs/journal-format.md): never renumber, only append.
/// Names (see <see cref="OpNames"/>) are the Linux syscall names, so `scoord log --op openat`
/// matches what strace users expect.
/// </summary>
public enum OpCode : ushort
{
    None = 0,

    // Process events (written by the coordinator, not by a syscall interceptor).
    Fork = 1,
    Vfork = 2,
    Clone = 3,
    Exec = 4,
    Exit = 5,

    // Opens and creations.
    Open = 16,
    Openat = 17,
    Openat2 = 18,
    Creat = 19,
    Mkdir = 20,
    Mkdirat = 21,
    Mknod = 22,
    Mknodat = 23,
    Bind = 24,
    Link = 25,
    Linkat = 26,
    Symlink = 27,
    Symlinkat = 28,

    // Content.
    Write = 40,
    Pwrite64 = 41,
    Writev = 42,
    Pwritev = 43,
    Pwritev2 = 44,
    CopyFileRange = 45,
    Sendfile = 46,
    Splice = 47,
    Truncate = 48,
    Ftruncate = 49,
    Fallocate = 50,
    Ioctl = 51,
    Mmap = 52,
    Mremap = 53,
    Mprotect = 54,
    Vmsplice = 55,
    Tee = 56,
    /// <summary>A writable shared mapping went away (scoord's own event at exec/exit; the post-state of the file).</summary>
    Munmap = 57,

    // Names.
    Unlink = 64,
    Unlinkat = 65,
    Rmdir = 66,
    Rename = 67,
    Renameat = 68,
    Renameat2 = 69,

    // Metadata.
    Chmod = 80,
    Fchmod = 81,
    Fchmodat = 82,
    Fchmodat2 = 83,
    Chown = 84,
    Fchown = 85,
    Lchown = 86,
    Fchownat = 87,
    Utime = 88,
    Utimes = 89,
    Utimensat = 90,
    Futimesat = 91,
    Setxattr = 92,
    Lsetxattr = 93,
    Fsetxattr = 94,
    Removexattr = 95,
    Lremovexattr = 96,
    Fremovexattr = 97,
    Setxattrat = 98,
    Removexattrat = 99,
    FileSetattr = 100,

    // Durability points (journaled only under --durability sync-points/strict).
    Fsync = 112,
    Fdatasync = 113,
    Sync = 114,
    Syncfs = 115,
    Msync = 116,
    SyncFileRange = 117,

    // Operations scoord refuses (journaled as failed with the injected errno).
    IoUringSetup = 128,
    Chroot = 129,
    Mount = 130,
    Umount2 = 131,
    PivotRoot = 132,
    Unshare = 133,
    Setns = 134,
    ForeignAbi = 135,
    OpenByHandleAt = 136,
    NameToHandleAt = 137,
    FsOpen = 138,
    MoveMount = 139,
    OpenTree = 140,
    Dup = 141,
    Dup2 = 142,
    Dup3 = 143,
    Fcntl = 144,
    Other = 255,

    // Scoord's own events.
    Checkpoint = 512,
    Rollback = 513,
}
