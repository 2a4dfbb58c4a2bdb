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
    /// <summary>For refused syscalls: the errno returned to the app.</summary>
    public Errno RefuseErrno { get; init; }

    public bool IsJournaled => Decode is not (DecodeKind.None or DecodeKind.Refuse or DecodeKind.Dup or DecodeKind.Clone3 or DecodeKind.Sync or DecodeKind.Close);
}
