using System.Runtime.InteropServices;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Interceptors.Decoding;

/// <summary>
/// Resolves a path argument the way the kernel will (relative to a dirfd or the tracee's cwd, "/proc/self"
/// meaning the tracee), writes its absolute normalised form and a form scoord can stat, and decides by the
/// object (or, for a creation, its parent directory) whether the call is journaled, passed or refused.
/// </summary>
internal static unsafe class PathResolver
{
    /// <param name="second">The second path of rename/link: written into <see cref="DecodedCall.Path2"/>; the object's kind and identity stay the first path's.</param>
    /// <param name="removesName">The call removes or renames the name (a journal ancestor may not be).</param>
    public static Verdict Resolve<TTracee>(DecodeContext ctx, ref TTracee tracee, int dirfd, ulong pathPtr, bool follow, bool content,
        bool second, bool removesName, ref DecodedCall call)
        where TTracee : struct, ITracee
    {
        byte[] raw = second ? ctx.Raw2 : ctx.Raw;
        byte[] sb = second ? ctx.Stat2 : ctx.Stat;
        byte[] dest = second ? ctx.Path2 : ctx.Path;
        DecodedPath result = default;
        result.Follow = follow;
        Verdict v = ResolveInto(ctx, ref tracee, dirfd, pathPtr, content, second, removesName, raw, sb, dest, ref result, ref call);
        if (second)
        {
            call.Path2 = result;
        }
        else
        {
            call.Path = result;
        }

        return v;
    }

    private static Verdict ResolveInto<TTracee>(DecodeContext ctx, ref TTracee tracee, int dirfd, ulong pathPtr, bool content,
        bool second, bool removesName, byte[] raw, byte[] sb, byte[] dest, ref DecodedPath result, ref DecodedCall call)
        where TTracee : struct, ITracee
    {
        DecodePolicy policy = ctx.Policy;
        int rawLen = TraceeMemory.ReadCString(tracee, pathPtr, raw);
        if (rawLen < 0)
        {
            result.Unreadable = true;
            return Verdict.Journal; // the kernel will fail it (EFAULT/ENAMETOOLONG); the failure is recorded
        }

        ReadOnlySpan<byte> rel = raw.AsSpan(0, rawLen);
        int statLen = StatPathOf(ctx, tracee.Tid, dirfd, rel, sb, out int baseLen);
        result.StatPath = sb.AsSpan(0, statLen + 1);
        int destLen = rel.StartsWith("/proc/"u8)
            ? ResolveThroughProc(sb, statLen, result.Follow, dest) // magic links name real objects
            : PathNormalizer.Join(ctx.Base.AsSpan(0, baseLen), rel, dest);
        if (destLen < 0)
        {
            result.Unreadable = true;
            return Verdict.Journal;
        }

        if (!rel.StartsWith("/proc/"u8) && HasDirectoryPart(rel))
        {
            // A directory on the way may be a symlink (or ".." may follow one): the kernel walks it, so the
            // journal names the directory the kernel reaches, not the text the app wrote.
            int canonical = CanonicalParent(ctx, sb, statLen, dest, destLen);
            if (canonical > 0)
            {
                destLen = canonical;
                // The exit stop stats the object by the canonical path too: the text's own path may go through
                // the very symlink the call moves (`rename("d0", "d0/e0")` with d0 a symlink to a directory
                // moves d0 into its target; afterwards "d0/e0" names nothing).
                if (destLen < DecodeContext.PathMax && destLen < sb.Length)
                {
                    dest.AsSpan(0, destLen).CopyTo(sb);
                    sb[destLen] = 0;
                    statLen = destLen;
                    result.StatPath = sb.AsSpan(0, statLen + 1);
                }
            }
        }

        result.Display = dest.AsSpan(0, destLen);
        if (policy.IsInJournal(result.Display))
        {
            return Refuse(ref call);
        }

        // The object itself. lstat first: when the op follows a final symlink, the object is its
        // target, and the journal names the target (the path the kernel will really change).
        Interop.Stat st;
        int rc;
        fixed (byte* sp = sb)
        {
            rc = fstatat(AT_FDCWD, sp, &st, AT_SYMLINK_NOFOLLOW);
        }

        bool unfollowable = false;
        if (rc == 0 && result.Follow && (st.st_mode & S_IFMT) == S_IFLNK)
        {
            int resolved = ResolveFinalSymlink(ctx, sb, ref statLen, dest, destLen);
            if (resolved > 0)
            {
                destLen = resolved;
                result.Display = dest.AsSpan(0, destLen);
                if (policy.IsInJournal(result.Display))
                {
                    return Refuse(ref call);
                }
            }

            fixed (byte* sp = sb)
            {
                rc = fstatat(AT_FDCWD, sp, &st, 0);
                if (rc != 0 && Marshal.GetLastPInvokeError() != (int)Errno.ENOENT)
                {
                    // The chain does not end in a name the kernel could create (a loop: ELOOP; a file used as
                    // a directory: ENOTDIR): the call fails on it. The name holds a symlink, not nothing: record
                    // that link, so a creation left pending by a crash is never taken for one that happened.
                    // The call stays journaled (not passed as an open of a non-file): admitted, it is ordered
                    // with the calls that may remove the link before it runs.
                    result.Follow = false;
                    unfollowable = true;
                    rc = fstatat(AT_FDCWD, sp, &st, AT_SYMLINK_NOFOLLOW);
                }
            }

            result.StatPath = sb.AsSpan(0, statLen + 1);
        }

        bool exists = rc == 0;
        if (exists)
        {
            ObjectKind kind = ObjectClassifier.KindOf(st.st_mode);
            if (!second)
            {
                call.Kind = kind;
                call.Dev = st.st_dev;
                call.Ino = st.st_ino;
            }

            call.AddIdentity(st.st_dev, st.st_ino);
            result.Object = (st.st_dev, st.st_ino);
            // The second path of a rename is not checked against the journal's ancestors: it is replaced,
            // not removed, and an ancestor is a non-empty directory the kernel will not replace.
            if (policy.IsProtected(st.st_dev, st.st_ino) || (!second && removesName && policy.IsJournalAncestor(st.st_dev, st.st_ino)))
            {
                return Refuse(ref call);
            }

            if (ctx.Classifier.IsPseudoFs(st.st_dev, sb) || (!second && policy.IsUntracked(st.st_dev, st.st_ino)))
            {
                return Verdict.Pass;
            }

            if (content && !unfollowable && kind is not (ObjectKind.Regular or ObjectKind.Directory))
            {
                return Verdict.Pass; // opening a device, FIFO or socket for writing changes no file
            }
        }
        else if (!second)
        {
            call.Kind = ObjectKind.Absent;
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

            bool parentPseudo = prc == 0 && !exists && ctx.Classifier.IsPseudoFs(parent.st_dev, sb);
            sb[cut] = savedCut;
            if (prc == 0)
            {
                call.AddIdentity(parent.st_dev, parent.st_ino);
                result.Parent = (parent.st_dev, parent.st_ino);
                if (policy.IsProtected(parent.st_dev, parent.st_ino))
                {
                    return Refuse(ref call);
                }

                if (parentPseudo)
                {
                    return Verdict.Pass;
                }
            }
        }

        return policy.InScope(result.Display) ? Verdict.Journal : Verdict.Pass;
    }

    private static Verdict Refuse(ref DecodedCall call)
    {
        call.RefuseErrno = Errno.EACCES;
        return Verdict.Refuse;
    }

    /// <summary>
    /// Writes the kernel-resolvable form of <paramref name="rel"/> into <paramref name="sb"/> (NUL-terminated):
    /// absolute paths as they are ("/proc/self" made the tracee's), relative ones below /proc/TID/cwd or
    /// /proc/TID/fd/DIRFD, whose target (the display form's base) goes into the context's Base.
    /// </summary>
    private static int StatPathOf(DecodeContext ctx, int tid, int dirfd, ReadOnlySpan<byte> rel, byte[] sb, out int baseLen)
    {
        int statLen;
        baseLen = 0;
        if (rel.Length > 0 && rel[0] == (byte)'/')
        {
            // "/proc/self" and "/proc/thread-self" must name the tracee, not scoord.
            if (rel.StartsWith("/proc/self/"u8) || rel.SequenceEqual("/proc/self"u8))
            {
                statLen = ProcPath.Format(sb, tid, rel.Length > 10 ? rel[11..] : default);
            }
            else if (rel.StartsWith("/proc/thread-self/"u8) || rel.SequenceEqual("/proc/thread-self"u8))
            {
                statLen = ProcPath.Format(sb, tid, rel.Length > 17 ? rel[18..] : default);
            }
            else
            {
                rel.CopyTo(sb);
                statLen = rel.Length;
            }
        }
        else
        {
            int prefix = dirfd == AT_FDCWD ? ProcPath.Format(sb, tid, "cwd"u8) : ProcPath.FormatFd(sb, tid, dirfd);
            baseLen = LongPath.ReadLink(sb.AsSpan(0, prefix + 1), ctx.Base); // deeper than PATH_MAX too
            if (baseLen < 0)
            {
                baseLen = 0;
            }

            if (prefix + 1 + rel.Length >= DecodeContext.PathMax && ShortenedStatPath(ctx, sb, prefix, rel) is int shortened and > 0)
            {
                statLen = shortened;
            }
            else
            {
                sb[prefix] = (byte)'/';
                rel.CopyTo(sb.AsSpan(prefix + 1));
                statLen = prefix + 1 + rel.Length;
            }
        }

        while (statLen > 1 && sb[statLen - 1] == (byte)'/')
        {
            statLen--; // "dir/" names dir: its parent is the directory above
        }

        sb[statLen] = 0;
        return statLen;
    }

    /// <summary>
    /// A relative path the kernel accepts (under PATH_MAX) but that passes PATH_MAX once below
    /// "/proc/TID/cwd/" (or fd/N): open its leading directories (relative to that magic link, following what
    /// the kernel follows) and name the rest below "/proc/self/fd/K/". Returns the new length, or 0 when they
    /// cannot be opened (the kernel fails the call the same way; the path is then recorded as not found).
    /// </summary>
    private static int ShortenedStatPath(DecodeContext ctx, byte[] sb, int prefix, ReadOnlySpan<byte> rel)
    {
        // The rest after the cut must fit after "/proc/self/fd/NNNNNNNNNN/".
        int from = Math.Max(0, rel.Length - (DecodeContext.PathMax - 40));
        int cut = rel[from..].IndexOf((byte)'/');
        if (cut < 0)
        {
            return 0;
        }

        cut += from;
        if (cut == 0)
        {
            return 0;
        }

        Span<byte> head = stackalloc byte[cut + 1];
        rel[..cut].CopyTo(head);
        head[cut] = 0;
        int dir, fd;
        fixed (byte* sp = sb)
        fixed (byte* h = head)
        {
            sb[prefix] = 0;
            dir = open(sp, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
            if (dir < 0)
            {
                return 0;
            }

            fd = openat(dir, h, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
            close(dir);
        }

        if (fd < 0)
        {
            return 0;
        }

        ctx.Keep(fd);
        int n = ProcPath.FormatFd(sb, Environment.ProcessId, fd);
        ReadOnlySpan<byte> rest = rel[cut..]; // starts with '/'
        rest.CopyTo(sb.AsSpan(n));
        return n + rest.Length;
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
            if (follow && realpath(sp, d) != null)
            {
                return new ReadOnlySpan<byte>(d, dest.Length).IndexOf((byte)0);
            }

            int slash = sb.AsSpan(0, statLen).LastIndexOf((byte)'/');
            sb[slash] = 0;
            byte* r = realpath(sp, d);
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

    /// <summary>True when <paramref name="rel"/> names its object through at least one directory ("a/b", "/x").</summary>
    private static bool HasDirectoryPart(ReadOnlySpan<byte> rel)
    {
        int end = rel.Length;
        while (end > 1 && rel[end - 1] == (byte)'/')
        {
            end--;
        }

        return rel[..end].IndexOf((byte)'/') >= 0;
    }

    /// <summary>
    /// Rewrites the display path (<paramref name="dest"/>) as the kernel's name of its parent directory
    /// (opened through the stat path, so every symlink on the way is followed as the kernel will) plus the
    /// last name; a last name "." or ".." names the directory itself. Returns the new length, or 0 when
    /// the parent does not exist (the lexical path stays: the call will fail, or create nothing there).
    /// </summary>
    private static int CanonicalParent(DecodeContext ctx, byte[] sb, int statLen, byte[] dest, int destLen)
    {
        int slash = sb.AsSpan(0, statLen).LastIndexOf((byte)'/');
        if (slash <= 0)
        {
            return 0;
        }

        ReadOnlySpan<byte> last = sb.AsSpan(slash + 1, statLen - slash - 1);
        bool self = last.SequenceEqual("."u8) || last.SequenceEqual(".."u8);
        int cut = self ? statLen : slash;
        byte saved = sb[cut];
        sb[cut] = 0;
        int fd;
        fixed (byte* sp = sb)
        {
            fd = open(sp, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
        }

        sb[cut] = saved;
        if (fd < 0)
        {
            return 0;
        }

        int len = LongPath.DirectoryName(fd, ctx.Base);
        close(fd);
        if (len <= 0 || ctx.Base[0] != (byte)'/' || ctx.Base.AsSpan(0, len).EndsWith(" (deleted)"u8))
        {
            return 0;
        }

        if (self)
        {
            if (len > dest.Length)
            {
                return 0;
            }

            ctx.Base.AsSpan(0, len).CopyTo(dest);
            return len;
        }

        int lastSlash = dest.AsSpan(0, destLen).LastIndexOf((byte)'/');
        ReadOnlySpan<byte> name = dest.AsSpan(lastSlash + 1, destLen - lastSlash - 1);
        int total = (len == 1 ? 0 : len) + 1 + name.Length;
        if (total > dest.Length || name.IsEmpty)
        {
            return 0;
        }

        Span<byte> tmp = stackalloc byte[name.Length];
        name.CopyTo(tmp);
        ctx.Base.AsSpan(0, len == 1 ? 0 : len).CopyTo(dest);
        int at = len == 1 ? 0 : len;
        dest[at] = (byte)'/';
        tmp.CopyTo(dest.AsSpan(at + 1));
        return total;
    }

    /// <summary>
    /// The path (in <paramref name="sb"/>, resolvable by scoord) ends in a symlink the op follows:
    /// replace both the display path and the stat path by the symlink's target. A dangling target
    /// (O_CREAT will create it) is joined lexically to the link's directory. Returns the new display length or 0.
    /// </summary>
    private static int ResolveFinalSymlink(DecodeContext ctx, byte[] sb, ref int statLen, byte[] dest, int destLen)
    {
        byte[] target = ctx.Base;
        fixed (byte* sp = sb)
        fixed (byte* d = target)
        {
            if (realpath(sp, d) != null)
            {
                int n = new ReadOnlySpan<byte>(d, target.Length).IndexOf((byte)0);
                if (n + 1 > sb.Length || n > dest.Length)
                {
                    return 0;
                }

                target.AsSpan(0, n).CopyTo(dest);
                target.AsSpan(0, n).CopyTo(sb);
                sb[n] = 0;
                statLen = n;
                return n;
            }
        }

        return FollowChain(ctx, sb, ref statLen, dest, destLen);
    }

    /// <summary>
    /// Dangling (or too long for realpath): the kernel follows the chain of links to the name it will create
    /// (or fail on), so do the same: readlink and join with the link's directory, again while the result is
    /// itself a symlink, at most as many times as the kernel does (40). Both forms are followed side by side:
    /// the stat form (the link's directory as scoord reaches it, "/proc/TID/cwd/..." for relative paths, so
    /// it stays short below a directory deeper than PATH_MAX) and the display form (absolute, any length).
    /// </summary>
    private static int FollowChain(DecodeContext ctx, byte[] sb, ref int statLen, byte[] dest, int destLen)
    {
        Span<byte> text = stackalloc byte[DecodeContext.PathMax];
        byte[] stat = new byte[sb.Length]; // rare path: a symlink the op follows that realpath cannot resolve
        byte[] display = ctx.Base;
        sb.AsSpan(0, statLen + 1).CopyTo(stat);
        int sLen = statLen;
        dest.AsSpan(0, destLen).CopyTo(display);
        int dLen = destLen;
        bool moved = false;
        for (int hop = 0; hop < 40; hop++)
        {
            int tl;
            fixed (byte* lp = stat)
            fixed (byte* tp = text)
            {
                tl = (int)readlink(lp, tp, DecodeContext.PathMax);
            }

            if (tl <= 0)
            {
                break; // not a symlink (or not there): the end of the chain
            }

            ReadOnlySpan<byte> t = text[..tl];
            int sDir = stat.AsSpan(0, sLen).LastIndexOf((byte)'/');
            int dDir = PathNormalizer.ParentLength(display.AsSpan(0, dLen));
            int nd = PathNormalizer.Join(t[0] == (byte)'/' ? default : display.AsSpan(0, dDir), t, dest);
            int ns = t[0] == (byte)'/' ? tl : sDir + 1 + tl;
            if (nd <= 0 || ns + 1 > stat.Length)
            {
                return 0;
            }

            if (t[0] == (byte)'/')
            {
                t.CopyTo(stat);
            }
            else
            {
                stat[sDir] = (byte)'/';
                t.CopyTo(stat.AsSpan(sDir + 1));
            }

            stat[ns] = 0;
            sLen = ns;
            dest.AsSpan(0, nd).CopyTo(display);
            dLen = nd;
            moved = true;
        }

        if (!moved || dLen > dest.Length)
        {
            return 0;
        }

        display.AsSpan(0, dLen).CopyTo(dest);
        stat.AsSpan(0, sLen + 1).CopyTo(sb);
        statLen = sLen;
        // The link's text may itself go through a symlinked directory ("f2" -> "d1/f0" with d1 -> f0): the
        // journal names the directory the kernel reaches (f0/f0), as for a path the app wrote.
        int canonical = CanonicalParent(ctx, sb, statLen, dest, dLen);
        return canonical > 0 ? canonical : dLen;
    }
}
