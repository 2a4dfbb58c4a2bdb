using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Interceptors.Decoding;

/// <summary>
/// The object behind an fd of the tracee, through scoord's own copy of the fd (pidfd_getfd: offset,
/// flags and identity exactly as the tracee sees them): journaled when it is a regular file (content
/// ops) or any file-system object (metadata ops) on a real filesystem and in scope.
/// </summary>
internal static unsafe class FdResolver
{
    public static Verdict Resolve<TTracee>(DecodeContext ctx, ref TTracee tracee, int fd, bool content, bool fdStatusFlags, ref DecodedCall call)
        where TTracee : struct, ITracee
    {
        call.Fd = fd;
        int dup = fd < 0 ? -1 : tracee.DuplicateFd(fd);
        if (dup < 0)
        {
            return Verdict.Pass; // EBADF: the kernel will refuse it, nothing can change
        }

        Verdict v = Classify(ctx, dup, content, fdStatusFlags, ref call);
        if (v == Verdict.Journal)
        {
            call.DupFd = dup; // for undo capture and the post-state; the consumer closes it
        }
        else
        {
            close(dup);
        }

        return v;
    }

    /// <summary>True when the tracee's fd is a regular file on a real filesystem (what a write through it would journal).</summary>
    public static bool IsJournaledFd<TTracee>(DecodeContext ctx, ref TTracee tracee, int fd)
        where TTracee : struct, ITracee
    {
        int dup = fd < 0 ? -1 : tracee.DuplicateFd(fd);
        if (dup < 0)
        {
            return false;
        }

        Interop.Stat st;
        bool journaled = fstat(dup, &st) == 0
            && ObjectClassifier.KindOf(st.st_mode) == ObjectKind.Regular
            && !ctx.Classifier.IsPseudoFs(st.st_dev, dup)
            && !ctx.Policy.IsUntracked(st.st_dev, st.st_ino);
        close(dup);
        return journaled;
    }

    private static Verdict Classify(DecodeContext ctx, int dup, bool content, bool fdStatusFlags, ref DecodedCall call)
    {
        Interop.Stat st;
        if (fstat(dup, &st) != 0)
        {
            return Verdict.Pass;
        }

        call.DupStat = st; // the undo planner reuses it: one fstat per stop

        ObjectKind kind = ObjectClassifier.KindOf(st.st_mode);
        if (content ? kind != ObjectKind.Regular : kind is not (ObjectKind.Regular or ObjectKind.Directory or ObjectKind.Symlink))
        {
            return Verdict.Pass;
        }

        if (ctx.Classifier.IsPseudoFs(st.st_dev, dup) || ctx.Policy.IsUntracked(st.st_dev, st.st_ino))
        {
            return Verdict.Pass;
        }

        call.Kind = kind;
        call.Dev = st.st_dev;
        call.Ino = st.st_ino;
        call.AddIdentity(st.st_dev, st.st_ino);
        int n = ProcPath.FormatFd(ctx.Proc, Environment.ProcessId, dup);
        int pathLen = kind == ObjectKind.Directory
            ? LongPath.DirectoryName(dup, ctx.Path) // deeper than PATH_MAX too
            : ProcPath.ReadLink(ctx.Proc.AsSpan(0, n + 1), ctx.Path);
        if (pathLen < 0)
        {
            pathLen = 0;
        }

        ReadOnlySpan<byte> path = ctx.Path.AsSpan(0, pathLen);
        if (st.st_nlink == 0 && IsAnonymousMemory(path))
        {
            return Verdict.Pass; // memfd and SysV shared memory: memory objects, not files of any filesystem
        }

        if (IsUnlinkedName(ctx, path, st))
        {
            // The kernel names an fd whose name was removed "NAME (deleted)" (even when other hard links
            // remain): the journal keeps the name it had and says so with a flag.
            pathLen -= Suffix.Length;
            path = path[..pathLen];
            call.Deleted = true;
        }

        call.Path.Display = path;

        if (call.Offset == -1 && content)
        {
            call.Offset = lseek(dup, 0, SEEK_CUR);
        }

        if (fdStatusFlags)
        {
            // The fd's status flags (O_APPEND: the write lands at the end whatever the offset).
            call.OpFlags = (ulong)fcntl(dup, F_GETFL, 0);
        }

        // An fd on a journal object (inherited from before the run, or a file hard-linked out of the
        // journal before the run): its path says so, or its identity does.
        if (ctx.Policy.IsProtected(st.st_dev, st.st_ino) || (pathLen > 0 && ctx.Policy.IsInJournal(path)))
        {
            call.RefuseErrno = Errno.EACCES;
            return Verdict.Refuse;
        }

        return ctx.Policy.InScope(path) ? Verdict.Journal : Verdict.Pass;
    }

    private static ReadOnlySpan<byte> Suffix => " (deleted)"u8;

    /// <summary>
    /// True when <paramref name="path"/> is the kernel's "PATH (deleted)" for an fd whose name was
    /// unlinked, not a file really called so (then the whole path would name this very object).
    /// </summary>
    private static bool IsUnlinkedName(DecodeContext ctx, ReadOnlySpan<byte> path, in Interop.Stat st)
    {
        if (!path.EndsWith(Suffix) || path.Length >= ctx.Base.Length)
        {
            return false;
        }

        path.CopyTo(ctx.Base);
        ctx.Base[path.Length] = 0;
        Interop.Stat named;
        fixed (byte* p = ctx.Base)
        {
            return fstatat(AT_FDCWD, p, &named, AT_SYMLINK_NOFOLLOW) != 0 || named.st_dev != st.st_dev || named.st_ino != st.st_ino;
        }
    }

    private static bool IsAnonymousMemory(ReadOnlySpan<byte> fdPath)
        => fdPath.StartsWith("/memfd:"u8) || fdPath.StartsWith("/SYSV"u8) || fdPath.IsEmpty || fdPath[0] != (byte)'/';
}
