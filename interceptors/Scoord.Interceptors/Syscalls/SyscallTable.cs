namespace Scoord.Interceptors.Syscalls;

/// <summary>
/// The x86_64 syscall table as data. Every assigned number has a row; rows not listed in
/// <see cref="Special"/> cannot change files and are <see cref="SyscallClass.Allow"/>.
/// A number with no row at all (a syscall newer than this table) stops and is refused with
/// ENOSYS: the filter is an allowlist.
/// </summary>
public static class SyscallTable
{
    private static readonly SyscallEntry[] s_byNr = Build();

    /// <summary>Number of slots (highest known syscall number + 1).</summary>
    public static int Count => s_byNr.Length;

    /// <summary>The row for <paramref name="nr"/>; <c>Name</c> is null for numbers this table does not know.</summary>
    public static ref readonly SyscallEntry Get(int nr) => ref s_byNr[nr];

    public static bool IsKnown(long nr) => nr >= 0 && nr < s_byNr.Length && s_byNr[nr].Name is not null;

    public static int NumberOf(string name)
    {
        for (int i = 0; i < s_byNr.Length; i++)
        {
            if (s_byNr[i].Name == name)
            {
                return i;
            }
        }

        return -1;
    }

    private static SyscallEntry Row(string name, SyscallClass cls, DecodeKind decode, OpCode op,
        int dirfd = -1, int path = -1, int dirfd2 = -1, int path2 = -1, int fd = -1, int flags = -1,
        int mode = -1, int offset = -1, int length = -1, bool noFollow = false, Errno refuse = Errno.None,
        bool atFlags = false, bool content = false, ulong impliedFlags = 0, bool fdStatusFlags = false,
        bool removesName = false, bool createsName = false, int uid = -1, int gid = -1, int iovec = -1, int outOffset = -1,
        int address = -1, int address2 = -1, bool addressNonZero = false)
        => new()
        {
            Name = name, Class = cls, Decode = decode, Op = op,
            DirFdArg = (sbyte)dirfd, PathArg = (sbyte)path, DirFd2Arg = (sbyte)dirfd2, Path2Arg = (sbyte)path2,
            FdArg = (sbyte)fd, FlagsArg = (sbyte)flags, ModeArg = (sbyte)mode, OffsetArg = (sbyte)offset,
            LengthArg = (sbyte)length, NoFollow = noFollow, RefuseErrno = refuse,
            AtFlags = atFlags, Content = content, ImpliedFlags = impliedFlags, FdStatusFlags = fdStatusFlags,
            RemovesName = removesName, CreatesName = createsName, UidArg = (sbyte)uid, GidArg = (sbyte)gid,
            IovecArg = (sbyte)iovec, OutOffsetArg = (sbyte)outOffset,
            AddressArg = (sbyte)address, Address2Arg = (sbyte)address2, AddressNonZero = addressNonZero,
        };

    private static SyscallEntry Refused(string name, OpCode op, SyscallClass cls = SyscallClass.Trace, int flags = -1)
        => Row(name, cls, DecodeKind.Refuse, op, flags: flags, refuse: Errno.ENOSYS);

    private static SyscallEntry[] Build()
    {
        var t = new SyscallEntry[X86_64Names.Count];
        for (int nr = 0; nr < t.Length; nr++)
        {
            string? name = X86_64Names.ByNumber[nr];
            t[nr] = name is null
                ? Row(null!, SyscallClass.Trace, DecodeKind.Refuse, OpCode.None, refuse: Errno.ENOSYS) with { Nr = nr }
                : Row(name, SyscallClass.Allow, DecodeKind.None, OpCode.None) with { Nr = nr };
        }

        foreach (SyscallEntry e in Special())
        {
            int nr = Array.IndexOf(X86_64Names.ByNumber, e.Name);
            if (nr < 0)
            {
                throw new InvalidOperationException($"syscall table names unknown syscall {e.Name}");
            }

            t[nr] = e with { Nr = nr };
        }

        return t;
    }

    /// <summary>Every syscall that is not simply allowed.</summary>
    private static IEnumerable<SyscallEntry> Special()
    {
        const SyscallClass T = SyscallClass.Trace;
        const ulong Creat = Interop.Libc.O_CREAT | Interop.Libc.O_WRONLY | Interop.Libc.O_TRUNC;

        // Opens: read-only opens pass in BPF (flags checked in registers); openat2's flags are in memory.
        yield return Row("open", SyscallClass.OpenFlags, DecodeKind.Open, OpCode.Open, path: 0, flags: 1, mode: 2, content: true);
        yield return Row("openat", SyscallClass.OpenFlags, DecodeKind.Open, OpCode.Openat, dirfd: 0, path: 1, flags: 2, mode: 3, content: true);
        yield return Row("openat2", T, DecodeKind.Openat2, OpCode.Openat2, dirfd: 0, path: 1, content: true);
        yield return Row("creat", T, DecodeKind.Open, OpCode.Creat, path: 0, mode: 1, content: true, impliedFlags: Creat);

        // Creations.
        yield return Row("mkdir", T, DecodeKind.Path, OpCode.Mkdir, path: 0, mode: 1, noFollow: true, createsName: true);
        yield return Row("mkdirat", T, DecodeKind.Path, OpCode.Mkdirat, dirfd: 0, path: 1, mode: 2, noFollow: true, createsName: true);
        yield return Row("mknod", T, DecodeKind.Path, OpCode.Mknod, path: 0, mode: 1, noFollow: true, createsName: true);
        yield return Row("mknodat", T, DecodeKind.Path, OpCode.Mknodat, dirfd: 0, path: 1, mode: 2, noFollow: true, createsName: true);
        yield return Row("bind", T, DecodeKind.Bind, OpCode.Bind, fd: 0, createsName: true);
        yield return Row("link", T, DecodeKind.TwoPaths, OpCode.Link, path: 0, path2: 1, noFollow: true);
        yield return Row("linkat", T, DecodeKind.TwoPaths, OpCode.Linkat, dirfd: 0, path: 1, dirfd2: 2, path2: 3, flags: 4, noFollow: true, atFlags: true);
        yield return Row("symlink", T, DecodeKind.Symlink, OpCode.Symlink, path2: 0, path: 1, noFollow: true, createsName: true);
        yield return Row("symlinkat", T, DecodeKind.Symlink, OpCode.Symlinkat, path2: 0, dirfd: 1, path: 2, noFollow: true, createsName: true);

        // Content through an fd.
        yield return Row("write", SyscallClass.FdMutate, DecodeKind.Fd, OpCode.Write, fd: 0, length: 2, content: true, fdStatusFlags: true);
        yield return Row("pwrite64", SyscallClass.FdMutate, DecodeKind.Fd, OpCode.Pwrite64, fd: 0, length: 2, offset: 3, content: true, fdStatusFlags: true);
        yield return Row("writev", SyscallClass.FdMutate, DecodeKind.Fd, OpCode.Writev, fd: 0, content: true, fdStatusFlags: true, iovec: 1);
        yield return Row("pwritev", SyscallClass.FdMutate, DecodeKind.Fd, OpCode.Pwritev, fd: 0, offset: 3, content: true, fdStatusFlags: true, iovec: 1);
        yield return Row("pwritev2", SyscallClass.FdMutate, DecodeKind.Fd, OpCode.Pwritev2, fd: 0, offset: 3, flags: 5, content: true, fdStatusFlags: true, iovec: 1);
        yield return Row("copy_file_range", SyscallClass.FdMutate, DecodeKind.Fd, OpCode.CopyFileRange, fd: 2, length: 4, content: true, outOffset: 3);
        yield return Row("sendfile", SyscallClass.FdMutate, DecodeKind.Fd, OpCode.Sendfile, fd: 0, length: 3, content: true);
        yield return Row("splice", SyscallClass.FdMutate, DecodeKind.Fd, OpCode.Splice, fd: 2, length: 4, flags: 5, content: true, outOffset: 3);
        yield return Row("ftruncate", SyscallClass.FdMutate, DecodeKind.Fd, OpCode.Ftruncate, fd: 0, length: 1, content: true);
        yield return Row("fallocate", SyscallClass.FdMutate, DecodeKind.Fd, OpCode.Fallocate, fd: 0, flags: 1, offset: 2, length: 3, content: true);
        yield return Row("fchmod", SyscallClass.FdMutate, DecodeKind.Fd, OpCode.Fchmod, fd: 0, mode: 1);
        yield return Row("fchown", SyscallClass.FdMutate, DecodeKind.Fd, OpCode.Fchown, fd: 0, uid: 1, gid: 2);
        yield return Row("fsetxattr", SyscallClass.FdMutate, DecodeKind.Fd, OpCode.Fsetxattr, fd: 0, flags: 4);
        yield return Row("fremovexattr", SyscallClass.FdMutate, DecodeKind.Fd, OpCode.Fremovexattr, fd: 0);
        yield return Row("ioctl", SyscallClass.Ioctl, DecodeKind.Ioctl, OpCode.Ioctl, fd: 0, flags: 1, content: true);
        yield return Row("mmap", SyscallClass.MmapShared, DecodeKind.Mmap, OpCode.Mmap, fd: 4, flags: 3, mode: 2, offset: 5, length: 1, content: true,
            address: 0, addressNonZero: true);

        // Content and names by path.
        yield return Row("truncate", T, DecodeKind.Path, OpCode.Truncate, path: 0, length: 1, content: true);
        yield return Row("unlink", T, DecodeKind.Path, OpCode.Unlink, path: 0, noFollow: true, removesName: true);
        yield return Row("unlinkat", T, DecodeKind.Path, OpCode.Unlinkat, dirfd: 0, path: 1, flags: 2, noFollow: true, removesName: true);
        yield return Row("rmdir", T, DecodeKind.Path, OpCode.Rmdir, path: 0, noFollow: true, removesName: true);
        yield return Row("rename", T, DecodeKind.TwoPaths, OpCode.Rename, path: 0, path2: 1, noFollow: true, removesName: true);
        yield return Row("renameat", T, DecodeKind.TwoPaths, OpCode.Renameat, dirfd: 0, path: 1, dirfd2: 2, path2: 3, noFollow: true, removesName: true);
        yield return Row("renameat2", T, DecodeKind.TwoPaths, OpCode.Renameat2, dirfd: 0, path: 1, dirfd2: 2, path2: 3, flags: 4, noFollow: true, removesName: true);

        // Metadata.
        yield return Row("chmod", T, DecodeKind.Path, OpCode.Chmod, path: 0, mode: 1);
        yield return Row("fchmodat", T, DecodeKind.Path, OpCode.Fchmodat, dirfd: 0, path: 1, mode: 2);
        yield return Row("fchmodat2", T, DecodeKind.Path, OpCode.Fchmodat2, dirfd: 0, path: 1, mode: 2, flags: 3, atFlags: true);
        yield return Row("chown", T, DecodeKind.Path, OpCode.Chown, path: 0, uid: 1, gid: 2);
        yield return Row("lchown", T, DecodeKind.Path, OpCode.Lchown, path: 0, noFollow: true, uid: 1, gid: 2);
        yield return Row("fchownat", T, DecodeKind.Path, OpCode.Fchownat, dirfd: 0, path: 1, flags: 4, atFlags: true, uid: 2, gid: 3);
        yield return Row("utime", T, DecodeKind.Path, OpCode.Utime, path: 0);
        yield return Row("utimes", T, DecodeKind.Path, OpCode.Utimes, path: 0);
        yield return Row("utimensat", T, DecodeKind.PathOrFd, OpCode.Utimensat, dirfd: 0, path: 1, flags: 3);
        yield return Row("futimesat", T, DecodeKind.Path, OpCode.Futimesat, dirfd: 0, path: 1);
        yield return Row("setxattr", T, DecodeKind.Path, OpCode.Setxattr, path: 0, flags: 4);
        yield return Row("lsetxattr", T, DecodeKind.Path, OpCode.Lsetxattr, path: 0, flags: 4, noFollow: true);
        yield return Row("removexattr", T, DecodeKind.Path, OpCode.Removexattr, path: 0);
        yield return Row("lremovexattr", T, DecodeKind.Path, OpCode.Lremovexattr, path: 0, noFollow: true);
        yield return Row("setxattrat", T, DecodeKind.Path, OpCode.Setxattrat, dirfd: 0, path: 1, flags: 2, atFlags: true);
        yield return Row("removexattrat", T, DecodeKind.Path, OpCode.Removexattrat, dirfd: 0, path: 1, flags: 2, atFlags: true);
        yield return Row("file_setattr", T, DecodeKind.Path, OpCode.FileSetattr, dirfd: 0, path: 1, flags: 4, atFlags: true);

        // What puts a regular file on fd 0-2 (see StdioGuard).
        yield return Row("dup2", SyscallClass.DupTarget, DecodeKind.Dup, OpCode.Dup2, fd: 0);
        yield return Row("dup3", SyscallClass.DupTarget, DecodeKind.Dup, OpCode.Dup3, fd: 0);
        yield return Row("fcntl", SyscallClass.FcntlDup, DecodeKind.Dup, OpCode.Fcntl, fd: 0);

        // Application checkpoint files closed after writing (only under --app-checkpoint).
        yield return Row("close", SyscallClass.CloseIfAsked, DecodeKind.Close, OpCode.Other, fd: 0);

        // Durability points.
        yield return Row("fsync", SyscallClass.Sync, DecodeKind.Sync, OpCode.Fsync, fd: 0);
        yield return Row("fdatasync", SyscallClass.Sync, DecodeKind.Sync, OpCode.Fdatasync, fd: 0);
        yield return Row("sync", SyscallClass.Sync, DecodeKind.Sync, OpCode.Sync);
        yield return Row("syncfs", SyscallClass.Sync, DecodeKind.Sync, OpCode.Syncfs, fd: 0);
        yield return Row("msync", SyscallClass.Sync, DecodeKind.Sync, OpCode.Msync);
        yield return Row("sync_file_range", SyscallClass.Sync, DecodeKind.Sync, OpCode.SyncFileRange, fd: 0);

        // Namespaces: a new mount namespace would change what paths mean. clone3's flags are in memory.
        yield return Refused("clone", OpCode.Clone, SyscallClass.NamespaceFlags, flags: 0);
        yield return Refused("unshare", OpCode.Unshare, SyscallClass.NamespaceFlags, flags: 0);
        yield return Row("clone3", T, DecodeKind.Clone3, OpCode.Clone);

        // The fast path: the preload survives exec, a filter of the app's own switches it off for that
        // process (and the hooks' notify uses seccomp), and no mapping may take the stub page's address.
        yield return Row("execve", SyscallClass.ExecFastPath, DecodeKind.Exec, OpCode.Exec);
        yield return Row("execveat", SyscallClass.ExecFastPath, DecodeKind.Exec, OpCode.Exec);
        yield return Row("seccomp", SyscallClass.SeccompFastPath, DecodeKind.SeccompFilter, OpCode.Other, flags: 0);
        yield return Row("prctl", SyscallClass.PrctlSeccomp, DecodeKind.SeccompFilter, OpCode.Other, flags: 0);
        yield return Row("mprotect", SyscallClass.AddressGuard, DecodeKind.AddressGuard, OpCode.Mprotect, address: 0, length: 1);
        yield return Row("pkey_mprotect", SyscallClass.AddressGuard, DecodeKind.AddressGuard, OpCode.Mprotect, address: 0, length: 1);
        yield return Row("munmap", SyscallClass.AddressGuard, DecodeKind.AddressGuard, OpCode.Munmap, address: 0, length: 1);
        yield return Row("mremap", SyscallClass.AddressGuard, DecodeKind.AddressGuard, OpCode.Mremap, address: 0, length: 1, address2: 4);
        yield return Row("shmat", SyscallClass.AddressGuard, DecodeKind.AddressGuard, OpCode.Other, address: 1, addressNonZero: true);

        // Cannot be journaled: refused with ENOSYS (libraries fall back), journaled as refused.
        yield return Refused("io_uring_setup", OpCode.IoUringSetup);
        yield return Refused("io_setup", OpCode.Other);
        yield return Refused("chroot", OpCode.Chroot);
        yield return Refused("pivot_root", OpCode.PivotRoot);
        yield return Refused("mount", OpCode.Mount);
        yield return Refused("umount2", OpCode.Umount2);
        yield return Refused("setns", OpCode.Setns);
        yield return Refused("open_tree", OpCode.OpenTree);
        yield return Refused("open_tree_attr", OpCode.OpenTree);
        yield return Refused("move_mount", OpCode.MoveMount);
        yield return Refused("fsopen", OpCode.FsOpen);
        yield return Refused("fsconfig", OpCode.FsOpen);
        yield return Refused("fsmount", OpCode.FsOpen);
        yield return Refused("fspick", OpCode.FsOpen);
        yield return Refused("mount_setattr", OpCode.Mount);
        yield return Refused("swapon", OpCode.Other);
        yield return Refused("acct", OpCode.Other);
        yield return Refused("open_by_handle_at", OpCode.OpenByHandleAt, SyscallClass.OpenFlags, flags: 2);
    }
}
