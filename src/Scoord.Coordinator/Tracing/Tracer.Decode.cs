using Scoord.Interceptors;
using Scoord.Interceptors.Syscalls;
using Scoord.Journal.Model;
using Scoord.Interceptors.Decoding;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Tracing;

/// <summary>Per-family decoding: paths (dirfd, cwd, fd paths), flags, offsets, and the object's identity.</summary>
internal sealed unsafe partial class Tracer
{
    private const uint OpenWriteFlags = O_WRONLY | O_RDWR | O_CREAT | O_TRUNC;

    private Verdict Decode(Tracee t, in SyscallEntry e, ref OpIntent intent, ref int pathLen, ref int path2Len)
    {
        ulong* a = stackalloc ulong[6];
        fixed (ulong* src = _info.args)
        {
            for (int i = 0; i < 6; i++)
            {
                a[i] = src[i];
            }
        }

        if (e.FlagsArg >= 0)
        {
            intent.OpFlags = a[e.FlagsArg];
        }

        if (e.ModeArg >= 0)
        {
            intent.Mode = (uint)a[e.ModeArg];
        }

        if (e.OffsetArg >= 0)
        {
            intent.Offset = (long)a[e.OffsetArg];
        }

        if (e.LengthArg >= 0)
        {
            intent.Length = (long)a[e.LengthArg];
        }

        switch (e.Decode)
        {
            case DecodeKind.Open:
            {
                if (e.Op == OpCode.Creat)
                {
                    intent.OpFlags = O_CREAT | O_WRONLY | O_TRUNC;
                }

                bool follow = (intent.OpFlags & O_NOFOLLOW) == 0 && (intent.OpFlags & (O_CREAT | O_EXCL)) != (O_CREAT | O_EXCL);
                Verdict v = DecodePath(t, e.DirFdArg >= 0 ? (int)a[e.DirFdArg] : AT_FDCWD, a[e.PathArg], follow, content: true, ref intent, ref pathLen);
                t.CheckOpenResult = v == Verdict.Journal && !t.Process.StdioGuarded;
                return v;
            }

            case DecodeKind.Openat2:
            {
                Span<byte> how = stackalloc byte[16];
                if (TraceeMemory.Read(t.Tid, a[2], how) && TraceeMemory.TryParseOpenHow(how, out ulong howFlags, out ulong howMode))
                {
                    intent.OpFlags = howFlags;
                    intent.Mode = (uint)howMode;
                    if ((intent.OpFlags & OpenWriteFlags) == 0)
                    {
                        return Verdict.Pass; // a read-only openat2: its flags live in memory, so it had to stop
                    }
                }

                bool follow = (intent.OpFlags & O_NOFOLLOW) == 0;
                Verdict v = DecodePath(t, (int)a[0], a[1], follow, content: true, ref intent, ref pathLen);
                t.CheckOpenResult = v == Verdict.Journal && !t.Process.StdioGuarded;
                return v;
            }

            case DecodeKind.Path:
            {
                int atFlags = e.Op is OpCode.Fchownat or OpCode.Fchmodat2 or OpCode.Setxattrat or OpCode.Removexattrat or OpCode.FileSetattr
                    ? (int)intent.OpFlags : 0;
                bool follow = !e.NoFollow && (atFlags & AT_SYMLINK_NOFOLLOW) == 0;
                if (e.Op is OpCode.Fchownat)
                {
                    intent.Uid = (uint)a[2];
                    intent.Gid = (uint)a[3];
                }
                else if (e.Op is OpCode.Chown or OpCode.Lchown)
                {
                    intent.Uid = (uint)a[1];
                    intent.Gid = (uint)a[2];
                }

                if ((atFlags & AT_EMPTY_PATH) != 0)
                {
                    int fd = (int)a[e.DirFdArg];
                    TraceeMemory.ReadCString(t.Tid, a[e.PathArg], _raw);
                    return DecodeFd(t, fd, content: false, ref intent, ref pathLen);
                }

                return DecodePath(t, e.DirFdArg >= 0 ? (int)a[e.DirFdArg] : AT_FDCWD, a[e.PathArg], follow,
                    content: e.Op == OpCode.Truncate, ref intent, ref pathLen);
            }

            case DecodeKind.PathOrFd:
            {
                // utimensat(fd, NULL, times, flags) is futimens(fd).
                if (a[1] == 0)
                {
                    return DecodeFd(t, (int)a[0], content: false, ref intent, ref pathLen);
                }

                bool follow = ((int)a[3] & AT_SYMLINK_NOFOLLOW) == 0;
                return DecodePath(t, (int)a[0], a[1], follow, content: false, ref intent, ref pathLen);
            }

            case DecodeKind.TwoPaths:
            {
                int dirfd2 = e.DirFd2Arg >= 0 ? (int)a[e.DirFd2Arg] : AT_FDCWD;
                bool followOld = e.Op == OpCode.Linkat && ((int)intent.OpFlags & AT_SYMLINK_FOLLOW) != 0;
                Verdict v1 = DecodePath(t, e.DirFdArg >= 0 ? (int)a[e.DirFdArg] : AT_FDCWD, a[e.PathArg], followOld, content: false, ref intent, ref pathLen);
                if (v1 == Verdict.Refuse)
                {
                    return v1;
                }

                var second = new OpIntent();
                Verdict v2 = DecodePathInto(t, dirfd2, a[e.Path2Arg], follow: false, content: false, ref second, _path2, ref path2Len, isSecond: true);
                if (v2 == Verdict.Refuse)
                {
                    intent.InjectedErrno = second.InjectedErrno;
                    return v2;
                }

                return v1 == Verdict.Journal || v2 == Verdict.Journal ? Verdict.Journal : Verdict.Pass;
            }

            case DecodeKind.Symlink:
            {
                Verdict v = DecodePath(t, e.DirFdArg >= 0 ? (int)a[e.DirFdArg] : AT_FDCWD, a[e.PathArg], follow: false, content: false, ref intent, ref pathLen);
                int n = TraceeMemory.ReadCString(t.Tid, a[e.Path2Arg], _path2);
                path2Len = n < 0 ? 0 : n; // the target text, as written (not resolved)
                return v;
            }

            case DecodeKind.Fd:
            {
                bool content = e.Op is not (OpCode.Fchmod or OpCode.Fchown or OpCode.Fsetxattr or OpCode.Fremovexattr);
                if (e.Op == OpCode.Fchown)
                {
                    intent.Uid = (uint)a[1];
                    intent.Gid = (uint)a[2];
                }

                if (e.Op is OpCode.Writev or OpCode.Pwritev or OpCode.Pwritev2)
                {
                    intent.Length = TraceeMemory.IovecTotal(new ProcessVmMemory(t.Tid), a[1], (long)a[2]);
                }

                return DecodeFd(t, (int)a[e.FdArg], content, ref intent, ref pathLen);
            }

            case DecodeKind.Mmap:
            case DecodeKind.Ioctl:
                return DecodeFd(t, (int)a[e.FdArg], content: true, ref intent, ref pathLen);

            case DecodeKind.Bind:
                return DecodeBind(t, a, ref intent, ref pathLen);

            default:
                return Verdict.Pass;
        }
    }

    private Verdict DecodeBind(Tracee t, ulong* a, ref OpIntent intent, ref int pathLen)
    {
        int len = (int)Math.Min(a[2], 110UL);
        Span<byte> sa = stackalloc byte[112];
        if (len < 3 || !TraceeMemory.Read(t.Tid, a[1], sa[..len]))
        {
            return Verdict.Pass;
        }

        int pathOffset = TraceeMemory.SockaddrUnPathOffset(sa[..len]);
        if (pathOffset < 0)
        {
            return Verdict.Pass; // not AF_UNIX, or an abstract address: no file
        }

        intent.Fd = (int)a[0];
        return DecodePath(t, AT_FDCWD, a[1] + (ulong)pathOffset, follow: false, content: false, ref intent, ref pathLen);
    }

    /// <summary>
    /// The object behind an fd of the tracee: journaled when it is a regular file (content ops) or any
    /// file-system object (metadata ops) on a real filesystem and in scope.
    /// </summary>
    private Verdict DecodeFd(Tracee t, int fd, bool content, ref OpIntent intent, ref int pathLen)
    {
        intent.Fd = fd;
        int dup = GetFd(t, fd);
        if (dup < 0)
        {
            return Verdict.Pass; // EBADF: the kernel will refuse it, nothing can change
        }

        Verdict v = DecodeDupFd(dup, content, ref intent, ref pathLen);
        if (v == Verdict.Journal)
        {
            _dupFd = dup; // kept for undo capture; closed once the intent is appended
        }
        else
        {
            close(dup);
        }

        return v;
    }

    private Verdict DecodeDupFd(int dup, bool content, ref OpIntent intent, ref int pathLen)
    {
        {
            Interop.Stat st;
            if (fstat(dup, &st) != 0)
            {
                return Verdict.Pass;
            }

            _dupStat = st; // reused by the undo capture: one fstat per stop

            ObjectKind kind = ObjectClassifier.KindOf(st.st_mode);
            if (content ? kind != ObjectKind.Regular : kind is not (ObjectKind.Regular or ObjectKind.Directory or ObjectKind.Symlink))
            {
                return Verdict.Pass;
            }

            if (_classifier.IsPseudoFs(st.st_dev, dup))
            {
                return Verdict.Pass;
            }

            intent.Kind = kind;
            intent.Dev = st.st_dev;
            intent.Ino = st.st_ino;
            NoteIdentity(st.st_dev, st.st_ino);
            int n = ProcPath.FormatFd(_proc, Environment.ProcessId, dup);
            pathLen = ProcPath.ReadLink(_proc.AsSpan(0, n + 1), _path);
            if (pathLen < 0)
            {
                pathLen = 0;
            }

            if (st.st_nlink == 0 && IsAnonymousMemory(_path.AsSpan(0, pathLen)))
            {
                return Verdict.Pass; // memfd and SysV shared memory: memory objects, not files of any filesystem
            }

            if (intent.Offset == -1 && content)
            {
                intent.Offset = lseek(dup, 0, SEEK_CUR);
            }

            if (intent.Op is OpCode.Write or OpCode.Writev or OpCode.Pwrite64 or OpCode.Pwritev or OpCode.Pwritev2)
            {
                // The fd's status flags (O_APPEND: the write lands at the end whatever the offset).
                intent.OpFlags = (ulong)fcntl(dup, F_GETFL, 0);
            }

            // An fd on a journal object (inherited from before the run, or a file hard-linked out of the
            // journal before the run): its path says so, or its identity does.
            if (IsProtected(st.st_dev, st.st_ino) || (pathLen > 0 && PathNormalizer.IsUnder(_path.AsSpan(0, pathLen), _options.JournalPath)))
            {
                intent.InjectedErrno = (int)Errno.EACCES;
                return Verdict.Refuse;
            }

            return InScope(_path.AsSpan(0, pathLen)) ? Verdict.Journal : Verdict.Pass;
        }
    }

    private Verdict DecodePath(Tracee t, int dirfd, ulong pathPtr, bool follow, bool content, ref OpIntent intent, ref int pathLen)
        => DecodePathInto(t, dirfd, pathPtr, follow, content, ref intent, _path, ref pathLen, isSecond: false);

    /// <summary>
    /// Resolves a path argument the way the kernel will (relative to dirfd or the tracee's cwd),
    /// writes its absolute normalised form into <paramref name="dest"/>, and decides by the object
    /// (or, for a creation, its parent directory) whether it is journaled, passed or refused.
    /// </summary>
    private Verdict DecodePathInto(Tracee t, int dirfd, ulong pathPtr, bool follow, bool content, ref OpIntent intent, byte[] dest, ref int destLen, bool isSecond)
    {
        byte[] raw = isSecond ? _raw2 : _raw;
        byte[] sb = isSecond ? _statPath2 : _statPath;
        if (isSecond)
        {
            _follow2 = follow;
            _parent2 = default;
        }
        else
        {
            _follow1 = follow;
            _statLen = 0;
            _parent1 = default;
        }

        int rawLen = TraceeMemory.ReadCString(t.Tid, pathPtr, raw);
        if (rawLen < 0)
        {
            intent.Flags |= IntentFlags.PathUnreadable;
            destLen = 0;
            return Verdict.Journal; // the kernel will fail it (EFAULT/ENAMETOOLONG); the failure is recorded
        }

        ReadOnlySpan<byte> rel = raw.AsSpan(0, rawLen);
        int statLen;
        int baseLen = 0;
        if (rawLen > 0 && rel[0] == (byte)'/')
        {
            // "/proc/self" and "/proc/thread-self" must name the tracee, not scoord.
            if (rel.StartsWith("/proc/self/"u8) || rel.SequenceEqual("/proc/self"u8))
            {
                statLen = ProcPath.Format(sb, t.Tid, rel.Length > 10 ? rel[11..] : default);
            }
            else if (rel.StartsWith("/proc/thread-self/"u8) || rel.SequenceEqual("/proc/thread-self"u8))
            {
                statLen = ProcPath.Format(sb, t.Tid, rel.Length > 17 ? rel[18..] : default);
            }
            else
            {
                rel.CopyTo(sb);
                statLen = rawLen;
            }
        }
        else
        {
            int prefix = dirfd == AT_FDCWD ? ProcPath.Format(sb, t.Tid, "cwd"u8) : ProcPath.FormatFd(sb, t.Tid, dirfd);
            baseLen = ProcPath.ReadLink(sb.AsSpan(0, prefix + 1), _base);
            if (baseLen < 0)
            {
                baseLen = 0;
            }

            sb[prefix] = (byte)'/';
            rel.CopyTo(sb.AsSpan(prefix + 1));
            statLen = prefix + 1 + rawLen;
        }

        while (statLen > 1 && sb[statLen - 1] == (byte)'/')
        {
            statLen--; // "dir/" names dir: its parent is the directory above
        }

        sb[statLen] = 0;
        if (isSecond)
        {
            _statLen2 = statLen;
        }
        else
        {
            _statLen = statLen;
        }
        destLen = rel.StartsWith("/proc/"u8)
            ? ResolveThroughProc(sb, statLen, follow, dest) // magic links name real objects
            : PathNormalizer.Join(_base.AsSpan(0, baseLen), rel, dest);
        if (destLen < 0)
        {
            destLen = 0;
            intent.Flags |= IntentFlags.PathUnreadable;
            return Verdict.Journal;
        }

        ReadOnlySpan<byte> abs = dest.AsSpan(0, destLen);
        if (PathNormalizer.IsUnder(abs, _options.JournalPath))
        {
            intent.InjectedErrno = (int)Errno.EACCES;
            return Verdict.Refuse;
        }

        // The object itself. lstat first: when the op follows a final symlink, the object is its
        // target, and the journal names the target (the path the kernel will really change).
        Interop.Stat st;
        int rc;
        fixed (byte* sp = sb)
        {
            rc = fstatat(AT_FDCWD, sp, &st, AT_SYMLINK_NOFOLLOW);
        }

        if (rc == 0 && follow && (st.st_mode & S_IFMT) == S_IFLNK)
        {
            int resolved = ResolveFinalSymlink(sb, ref statLen, dest, destLen);
            if (resolved > 0)
            {
                destLen = resolved;
                abs = dest.AsSpan(0, destLen);
                if (PathNormalizer.IsUnder(abs, _options.JournalPath))
                {
                    intent.InjectedErrno = (int)Errno.EACCES;
                    return Verdict.Refuse;
                }
            }

            fixed (byte* sp = sb)
            {
                rc = fstatat(AT_FDCWD, sp, &st, 0);
            }

            if (isSecond)
            {
                _statLen2 = statLen;
            }
            else
            {
                _statLen = statLen;
            }
        }

        bool exists = rc == 0;
        if (exists)
        {
            ObjectKind kind = ObjectClassifier.KindOf(st.st_mode);
            if (!isSecond)
            {
                intent.Kind = kind;
                intent.Dev = st.st_dev;
                intent.Ino = st.st_ino;
            }

            NoteIdentity(st.st_dev, st.st_ino);
            if (IsProtected(st.st_dev, st.st_ino) || _options.JournalAncestors.Contains((st.st_dev, st.st_ino)) && RemovesOrRenames(intent.Op))
            {
                intent.InjectedErrno = (int)Errno.EACCES;
                return Verdict.Refuse;
            }

            if (_classifier.IsPseudoFs(st.st_dev, sb))
            {
                return Verdict.Pass;
            }

            if (content && kind is not (ObjectKind.Regular or ObjectKind.Directory))
            {
                return Verdict.Pass; // opening a device, FIFO or socket for writing changes no file
            }
        }
        else if (!isSecond)
        {
            intent.Kind = ObjectKind.Absent;
        }

        // The parent directory: where a creation lands, and the journal's own directories.
        int slash = sb.AsSpan(0, statLen).LastIndexOf((byte)'/');
        if (slash >= 0)
        {
            int cut = slash == 0 ? 1 : slash;
            byte savedCut = sb[cut];
            sb[cut] = 0;
            Interop.Stat parent;
            int prc;
            fixed (byte* sp = sb)
            {
                prc = fstatat(AT_FDCWD, sp, &parent, 0);
            }

            bool parentPseudo = prc == 0 && !exists && _classifier.IsPseudoFs(parent.st_dev, sb);
            sb[cut] = savedCut;
            if (prc == 0)
            {
                NoteIdentity(parent.st_dev, parent.st_ino);
                if (isSecond)
                {
                    _parent2 = (parent.st_dev, parent.st_ino);
                }
                else
                {
                    _parent1 = (parent.st_dev, parent.st_ino);
                }

                if (IsProtected(parent.st_dev, parent.st_ino))
                {
                    intent.InjectedErrno = (int)Errno.EACCES;
                    return Verdict.Refuse;
                }

                if (parentPseudo)
                {
                    return Verdict.Pass;
                }
            }
        }

        return InScope(abs) ? Verdict.Journal : Verdict.Pass;
    }

    /// <summary>
    /// A path through /proc (/proc/PID/cwd/x, /proc/self/fd/N, /dev/stdout's target): let the kernel
    /// resolve it. Followed objects resolve whole; otherwise the parent resolves and the last name stays.
    /// </summary>
    private static int ResolveThroughProc(byte[] sb, int statLen, bool follow, byte[] dest)
    {
        fixed (byte* sp = sb)
        fixed (byte* d = dest)
        {
            if (follow && Interop.Libc.realpath(sp, d) != null)
            {
                return new ReadOnlySpan<byte>(d, dest.Length).IndexOf((byte)0);
            }

            int slash = sb.AsSpan(0, statLen).LastIndexOf((byte)'/');
            sb[slash] = 0;
            byte* r = Interop.Libc.realpath(sp, d);
            sb[slash] = (byte)'/';
            if (r == null)
            {
                return PathNormalizer.Join(default, sb.AsSpan(0, statLen), dest);
            }

            int n = new ReadOnlySpan<byte>(d, dest.Length).IndexOf((byte)0);
            int tail = statLen - slash;
            if (n + tail > dest.Length)
            {
                return -1;
            }

            if (n == 1)
            {
                n = 0; // parent is "/"
            }

            sb.AsSpan(slash, tail).CopyTo(dest.AsSpan(n));
            return n + tail;
        }
    }

    /// <summary>
    /// The path (in <paramref name="sb"/>, resolvable by scoord) ends in a symlink the op follows:
    /// replace both the display path and the stat path by the symlink's target. A dangling target
    /// (O_CREAT will create it) is joined lexically to the link's directory. Returns the new display length or 0.
    /// </summary>
    private int ResolveFinalSymlink(byte[] sb, ref int statLen, byte[] dest, int destLen)
    {
        int n;
        fixed (byte* sp = sb)
        fixed (byte* d = _base)
        {
            if (Interop.Libc.realpath(sp, d) != null)
            {
                n = new ReadOnlySpan<byte>(d, _base.Length).IndexOf((byte)0);
            }
            else
            {
                // Dangling: readlink and join with the link's directory (display form).
                Span<byte> target = stackalloc byte[PathMax];
                int tl;
                fixed (byte* tp = target)
                {
                    tl = (int)Interop.Libc.readlink(sp, tp, PathMax);
                }

                if (tl <= 0)
                {
                    return 0;
                }

                int dir = PathNormalizer.ParentLength(dest.AsSpan(0, destLen));
                n = PathNormalizer.Join(dest.AsSpan(0, dir), target[..tl], _base);
                if (n <= 0)
                {
                    return 0;
                }
            }
        }

        if (n + 1 > sb.Length || n > dest.Length)
        {
            return 0;
        }

        _base.AsSpan(0, n).CopyTo(dest);
        _base.AsSpan(0, n).CopyTo(sb);
        sb[n] = 0;
        statLen = n;
        return n;
    }

    private static bool IsAnonymousMemory(ReadOnlySpan<byte> fdPath)
        => fdPath.StartsWith("/memfd:"u8) || fdPath.StartsWith("/SYSV"u8) || fdPath.IsEmpty || fdPath[0] != (byte)'/';

    private static bool RemovesOrRenames(OpCode op)
        => op is OpCode.Rename or OpCode.Renameat or OpCode.Renameat2 or OpCode.Rmdir or OpCode.Unlink or OpCode.Unlinkat;

    private bool IsProtected(ulong dev, ulong ino) => _options.ProtectedDirs.Contains((dev, ino));

    /// <summary>--only / --exclude: excluded objects pass unjournaled.</summary>
    private bool InScope(ReadOnlySpan<byte> abs)
    {
        byte[][] only = _options.Only;
        if (only.Length > 0)
        {
            bool inside = false;
            for (int i = 0; i < only.Length; i++)
            {
                if (PathNormalizer.IsUnder(abs, only[i]))
                {
                    inside = true;
                    break;
                }
            }

            if (!inside)
            {
                return false;
            }
        }

        byte[][] exclude = _options.Exclude;
        for (int i = 0; i < exclude.Length; i++)
        {
            if (PathNormalizer.IsUnder(abs, exclude[i]))
            {
                return false;
            }
        }

        return true;
    }
}
