namespace Scoord.Interceptors.Syscalls;

/// <summary>
/// One row of the syscall table: the single source of truth from which both the seccomp filter
/// and the decoder are driven. Argument positions are -1 where they do not apply.
/// </summary>
public readonly record struct SyscallEntry
{
    public int Nr { get; init; }
    public string Name { get; init; }
    public SyscallClass Class { get; init; }
    public DecodeKind Decode { get; init; }
    public OpCode Op { get; init; }
    public sbyte DirFdArg { get; init; }
    public sbyte PathArg { get; init; }
    public sbyte DirFd2Arg { get; init; }
    public sbyte Path2Arg { get; init; }
    public sbyte FdArg { get; init; }
    public sbyte FlagsArg { get; init; }
    public sbyte ModeArg { get; init; }
    public sbyte OffsetArg { get; init; }
    public sbyte LengthArg { get; init; }
    /// <summary>The op acts on a symlink itself rather than its target (lchown, unlink, rename ...).</summary>
    public bool NoFollow { get; init; }
    /// <summary><see cref="FlagsArg"/> holds AT_* flags (AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH; linkat: AT_SYMLINK_FOLLOW).</summary>
    public bool AtFlags { get; init; }
    /// <summary>The op may change the file's bytes: it is journaled only for a regular file (or, by path, a directory).</summary>
    public bool Content { get; init; }
    /// <summary>Flags the syscall implies without an argument for them (creat: O_CREAT|O_WRONLY|O_TRUNC).</summary>
    public ulong ImpliedFlags { get; init; }
    /// <summary>The op writes through the fd's open file description: the record keeps the fd's status flags (O_APPEND, O_DSYNC) as its flags.</summary>
    public bool FdStatusFlags { get; init; }
    /// <summary>The op removes a name (unlink, rmdir, rename over a name): it may free an inode.</summary>
    public bool RemovesName { get; init; }
    /// <summary>The op always creates a name and an inode (mkdir, mknod, symlink, bind); opens create one only with O_CREAT.</summary>
    public bool CreatesName { get; init; }
    public sbyte UidArg { get; init; }
    public sbyte GidArg { get; init; }
    /// <summary>An iovec array; its count is the next argument (writev, pwritev, pwritev2): the length is their sum.</summary>
    public sbyte IovecArg { get; init; }
    /// <summary>A pointer to where the bytes land in the output fd (copy_file_range, splice: off_out; NULL: the fd's offset).</summary>
    public sbyte OutOffsetArg { get; init; }
    /// <summary>For refused syscalls: the errno returned to the app.</summary>
    public Errno RefuseErrno { get; init; }

    /// <summary>An address the fast path's stub page must be guarded against (mmap, mprotect, munmap, mremap, shmat); -1 none.</summary>
    public sbyte AddressArg { get; init; }
    /// <summary>A second such address (mremap's new address), guarded only when not NULL; -1 none.</summary>
    public sbyte Address2Arg { get; init; }
    /// <summary><see cref="AddressArg"/> NULL lets the kernel choose (mmap, shmat): it is not guarded then.</summary>
    public bool AddressNonZero { get; init; }

    public bool IsJournaled => Decode is not (DecodeKind.None or DecodeKind.Refuse or DecodeKind.Dup or DecodeKind.Clone3 or DecodeKind.Sync
        or DecodeKind.Close or DecodeKind.Exec or DecodeKind.SeccompFilter or DecodeKind.AddressGuard);
}
