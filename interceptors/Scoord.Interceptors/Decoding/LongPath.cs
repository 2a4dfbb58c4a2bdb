using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Interceptors.Decoding;

/// <summary>
/// Absolute names of directories deeper than PATH_MAX. The kernel cannot name them in one string
/// (readlink of /proc/PID/cwd or /proc/self/fd/N fails with ENAMETOOLONG once the name passes a page),
/// but a program reaches them with relative paths (chdir step by step, dirfds) and scoord must journal what
/// it does there. Walks up with "..", finding each directory's name in its parent by identity, until an
/// ancestor the kernel can name; the result is that name plus the names collected. Allocates (rare path).
/// </summary>
internal static unsafe class LongPath
{
    /// <summary>How deep the walk up goes before giving up (a name this deep is longer than any display buffer).</summary>
    private const int MaxLevels = 4096;

    /// <summary>
    /// readlink of the NUL-terminated magic link <paramref name="procLink"/> (/proc/PID/cwd, /proc/PID/fd/N)
    /// into <paramref name="dest"/>; when the kernel cannot name its directory (ENAMETOOLONG), the name from
    /// walking up. Returns the length, or -1.
    /// </summary>
    public static int ReadLink(ReadOnlySpan<byte> procLink, Span<byte> dest)
    {
        int n = ProcPath.ReadLink(procLink, dest);
        if (n >= 0 || Interop.LastErrno != Errno.ENAMETOOLONG)
        {
            return n;
        }

        int fd;
        fixed (byte* p = procLink)
        {
            fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
        }

        if (fd < 0)
        {
            return -1;
        }

        n = DirectoryName(fd, dest);
        close(fd);
        return n;
    }

    /// <summary>The absolute name of the directory <paramref name="dirFd"/> in <paramref name="dest"/>; -1 if it has none (removed) or it does not fit.</summary>
    public static int DirectoryName(int dirFd, Span<byte> dest)
    {
        Span<byte> proc = stackalloc byte[64];
        ProcPath.FormatFd(proc, Environment.ProcessId, dirFd);
        int n = ProcPath.ReadLink(proc, dest);
        if (n >= 0)
        {
            return n;
        }

        if (Interop.LastErrno != Errno.ENAMETOOLONG)
        {
            return -1;
        }

        byte[] tail = new byte[dest.Length];
        int at = tail.Length;
        int cur = fcntl(dirFd, F_DUPFD_CLOEXEC, 3);
        try
        {
            for (int level = 0; level < MaxLevels && cur >= 0; level++)
            {
                Interop.Stat self;
                if (fstat(cur, &self) != 0)
                {
                    return -1;
                }

                int parent;
                fixed (byte* dots = "..\0"u8)
                {
                    parent = openat(cur, dots, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
                }

                if (parent < 0)
                {
                    return -1;
                }

                close(cur);
                cur = parent;
                byte[]? name = NameIn(parent, self.st_dev, self.st_ino);
                if (name is null || at < name.Length + 1)
                {
                    return -1;
                }

                at -= name.Length;
                name.CopyTo(tail.AsSpan(at));
                tail[--at] = (byte)'/';
                ProcPath.FormatFd(proc, Environment.ProcessId, parent);
                n = ProcPath.ReadLink(proc, dest);
                if (n > 0)
                {
                    if (dest[0] != (byte)'/' || dest[..n].EndsWith(" (deleted)"u8))
                    {
                        return -1;
                    }

                    int head = n == 1 ? 0 : n; // the root: "/" + "/name" must not double the slash
                    int rest = tail.Length - at;
                    if (head + rest > dest.Length)
                    {
                        return -1;
                    }

                    tail.AsSpan(at, rest).CopyTo(dest[head..]);
                    return head + rest;
                }

                if (Interop.LastErrno != Errno.ENAMETOOLONG)
                {
                    return -1;
                }
            }

            return -1;
        }
        finally
        {
            if (cur >= 0)
            {
                close(cur);
            }
        }
    }

    /// <summary>The name of the entry of directory <paramref name="dir"/> (opened for reading) that is (dev, ino); null if none.</summary>
    private static byte[]? NameIn(int dir, ulong dev, ulong ino)
    {
        // By d_ino first (one pass, no stat per entry); a mount point's d_ino is the covered inode, so a
        // second pass compares every entry's stat.
        return Scan(dir, dev, ino, byInode: true) ?? Scan(dir, dev, ino, byInode: false);
    }

    private static byte[]? Scan(int dir, ulong dev, ulong ino, bool byInode)
    {
        byte[] buf = new byte[32 * 1024];
        lseek(dir, 0, SEEK_SET);
        fixed (byte* b = buf)
        {
            while (true)
            {
                nint got = getdents64(dir, b, (nuint)buf.Length);
                if (got <= 0)
                {
                    return null;
                }

                for (int off = 0; off < got;)
                {
                    ulong dIno = *(ulong*)(b + off);
                    ushort reclen = *(ushort*)(b + off + 16);
                    byte* name = b + off + 19;
                    int len = new ReadOnlySpan<byte>(name, reclen - 19).IndexOf((byte)0);
                    off += reclen;
                    var span = new ReadOnlySpan<byte>(name, len);
                    if (span.SequenceEqual("."u8) || span.SequenceEqual(".."u8) || (byInode && dIno != ino))
                    {
                        continue;
                    }

                    Interop.Stat st;
                    if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_dev == dev && st.st_ino == ino)
                    {
                        return span.ToArray();
                    }
                }
            }
        }
    }
}
