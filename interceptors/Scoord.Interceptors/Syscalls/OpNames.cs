using System.Collections.Frozen;
using System.Globalization;

namespace Scoord.Interceptors.Syscalls;

/// <summary>
/// <see cref="OpCode"/> ↔ Linux syscall name ("openat", "pwrite64", "renameat2"); process events
/// are "fork", "vfork", "clone", "exec", "exit". Names are what `scoord log` prints and `--op` takes.
/// </summary>
public static class OpNames
{
    private static readonly FrozenDictionary<string, OpCode> s_byName = BuildByName();

    /// <summary>The syscall name of <paramref name="op"/>; a code this build does not know reads "op&lt;number&gt;".</summary>
    public static string Name(OpCode op) => KnownName(op) ?? "op" + ((ushort)op).ToString(CultureInfo.InvariantCulture);

    /// <summary>Parses a syscall name (case-insensitive) to its op code.</summary>
    public static bool TryParse(string name, out OpCode op) => s_byName.TryGetValue(name, out op);

    /// <summary>Every op code this build knows, in code order.</summary>
    public static IReadOnlyList<OpCode> All { get; } = Enum.GetValues<OpCode>();

    private static FrozenDictionary<string, OpCode> BuildByName()
    {
        var map = new Dictionary<string, OpCode>(StringComparer.OrdinalIgnoreCase);
        foreach (OpCode op in Enum.GetValues<OpCode>())
        {
            if (op != OpCode.None && KnownName(op) is { } n)
            {
                map[n] = op;
            }
        }

        return map.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }

    private static string? KnownName(OpCode op) =>
        op switch
        {
            OpCode.None => "none",
            OpCode.Fork => "fork",
            OpCode.Vfork => "vfork",
            OpCode.Clone => "clone",
            OpCode.Exec => "exec",
            OpCode.Exit => "exit",
            OpCode.Open => "open",
            OpCode.Openat => "openat",
            OpCode.Openat2 => "openat2",
            OpCode.Creat => "creat",
            OpCode.Mkdir => "mkdir",
            OpCode.Mkdirat => "mkdirat",
            OpCode.Mknod => "mknod",
            OpCode.Mknodat => "mknodat",
            OpCode.Bind => "bind",
            OpCode.Link => "link",
            OpCode.Linkat => "linkat",
            OpCode.Symlink => "symlink",
            OpCode.Symlinkat => "symlinkat",
            OpCode.Write => "write",
            OpCode.Pwrite64 => "pwrite64",
            OpCode.Writev => "writev",
            OpCode.Pwritev => "pwritev",
            OpCode.Pwritev2 => "pwritev2",
            OpCode.CopyFileRange => "copy_file_range",
            OpCode.Sendfile => "sendfile",
            OpCode.Splice => "splice",
            OpCode.Truncate => "truncate",
            OpCode.Ftruncate => "ftruncate",
            OpCode.Fallocate => "fallocate",
            OpCode.Ioctl => "ioctl",
            OpCode.Mmap => "mmap",
            OpCode.Mremap => "mremap",
            OpCode.Mprotect => "mprotect",
            OpCode.Vmsplice => "vmsplice",
            OpCode.Tee => "tee",
            OpCode.Munmap => "munmap",
            OpCode.Unlink => "unlink",
            OpCode.Unlinkat => "unlinkat",
            OpCode.Rmdir => "rmdir",
            OpCode.Rename => "rename",
            OpCode.Renameat => "renameat",
            OpCode.Renameat2 => "renameat2",
            OpCode.Chmod => "chmod",
            OpCode.Fchmod => "fchmod",
            OpCode.Fchmodat => "fchmodat",
            OpCode.Fchmodat2 => "fchmodat2",
            OpCode.Chown => "chown",
            OpCode.Fchown => "fchown",
            OpCode.Lchown => "lchown",
            OpCode.Fchownat => "fchownat",
            OpCode.Utime => "utime",
            OpCode.Utimes => "utimes",
            OpCode.Utimensat => "utimensat",
            OpCode.Futimesat => "futimesat",
            OpCode.Setxattr => "setxattr",
            OpCode.Lsetxattr => "lsetxattr",
            OpCode.Fsetxattr => "fsetxattr",
            OpCode.Removexattr => "removexattr",
            OpCode.Lremovexattr => "lremovexattr",
            OpCode.Fremovexattr => "fremovexattr",
            OpCode.Setxattrat => "setxattrat",
            OpCode.Removexattrat => "removexattrat",
            OpCode.FileSetattr => "file_setattr",
            OpCode.Fsync => "fsync",
            OpCode.Fdatasync => "fdatasync",
            OpCode.Sync => "sync",
            OpCode.Syncfs => "syncfs",
            OpCode.Msync => "msync",
            OpCode.SyncFileRange => "sync_file_range",
            OpCode.IoUringSetup => "io_uring_setup",
            OpCode.Chroot => "chroot",
            OpCode.Mount => "mount",
            OpCode.Umount2 => "umount2",
            OpCode.PivotRoot => "pivot_root",
            OpCode.Unshare => "unshare",
            OpCode.Setns => "setns",
            OpCode.ForeignAbi => "foreign_abi",
            OpCode.OpenByHandleAt => "open_by_handle_at",
            OpCode.NameToHandleAt => "name_to_handle_at",
            OpCode.FsOpen => "fsopen",
            OpCode.MoveMount => "move_mount",
            OpCode.OpenTree => "open_tree",
            OpCode.Dup => "dup",
            OpCode.Dup2 => "dup2",
            OpCode.Dup3 => "dup3",
            OpCode.Fcntl => "fcntl",
            OpCode.Other => "other",
            OpCode.Checkpoint => "checkpoint",
            OpCode.Rollback => "rollback",
            _ => null,
        };
}
