using System.Text;
using Scoord.Interceptors;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Rollback;

/// <summary>Why a path could not be resolved safely.</summary>
internal enum ResolveStatus
{
    Ok,
    /// <summary>A directory on the way does not exist.</summary>
    ParentMissing,
    /// <summary>A component on the way is not a directory (a symlink, a file): never followed.</summary>
    NotDirectory,
    /// <summary>Not an absolute, normalized path (or the root itself).</summary>
    Invalid,
    /// <summary>Another error (EACCES, EIO...).</summary>
    Failed,
}

/// <summary>
/// An absolute path resolved component by component with openat(O_PATH|O_NOFOLLOW|O_DIRECTORY) from
/// "/", never following a symlink: the rollback acts on the last component with *at calls relative to
/// <see cref="ParentFd"/>. <see cref="StatPath"/> ("/proc/self/fd/N/name") names the same object for the
/// path-based capture primitives without following anything but the directory fd's magic link.
/// </summary>
internal sealed unsafe class SafePath : IDisposable
{
    private SafePath(int parentFd, string full, byte[] fullBytes, byte[] name)
    {
        ParentFd = parentFd;
        Full = full;
        FullBytes = fullBytes;
        Name = name;
        string proc = "/proc/self/fd/" + parentFd.ToString(System.Globalization.CultureInfo.InvariantCulture);
        StatPath = Concat(Encoding.ASCII.GetBytes(proc + "/"), name);
        ParentStatPath = Encoding.ASCII.GetBytes(proc + "/.\0");
        int slash = Array.LastIndexOf(fullBytes, (byte)'/');
        ParentBytes = slash <= 0 ? "/"u8.ToArray() : fullBytes[..slash];
    }

    /// <summary>O_PATH fd of the parent directory.</summary>
    public int ParentFd { get; private set; }

    /// <summary>The path as text (journal escapes).</summary>
    public string Full { get; }

    /// <summary>The path as bytes (no NUL): what the journal records.</summary>
    public byte[] FullBytes { get; }

    /// <summary>The parent directory's path bytes (no NUL).</summary>
    public byte[] ParentBytes { get; }

    /// <summary>The last component, NUL-terminated.</summary>
    public byte[] Name { get; }

    /// <summary>"/proc/self/fd/N/name", NUL-terminated (use without following the last component).</summary>
    public byte[] StatPath { get; }

    /// <summary>"/proc/self/fd/N/.", NUL-terminated: the parent directory itself.</summary>
    public byte[] ParentStatPath { get; }

    public static SafePath? Resolve(string path, out ResolveStatus status)
    {
        if (!Journal.PathText.TryToBytes(path, out byte[]? bytes))
        {
            status = ResolveStatus.Invalid;
            return null;
        }

        return Resolve(path, bytes, out status);
    }

    public static SafePath? Resolve(string text, byte[] path, out ResolveStatus status)
    {
        if (path.Length < 2 || path[0] != '/' || path.AsSpan().IndexOf((byte)0) >= 0)
        {
            status = ResolveStatus.Invalid;
            return null;
        }

        var parts = new List<byte[]>();
        int start = 1;
        for (int i = 1; i <= path.Length; i++)
        {
            if (i == path.Length || path[i] == '/')
            {
                ReadOnlySpan<byte> c = path.AsSpan(start, i - start);
                if (c.SequenceEqual(".."u8))
                {
                    status = ResolveStatus.Invalid;
                    return null;
                }

                if (!c.IsEmpty && !c.SequenceEqual("."u8))
                {
                    parts.Add(Concat(c.ToArray(), []));
                }

                start = i + 1;
            }
        }

        if (parts.Count == 0)
        {
            status = ResolveStatus.Invalid;
            return null;
        }

        DirectoryCache? cache = s_cache;
        int first = 0;
        int fd = cache is null ? -1 : cache.Deepest(parts, out first);
        if (fd < 0)
        {
            first = 0;
            fixed (byte* root = "/\0"u8)
            {
                fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
            }
        }

        if (fd < 0)
        {
            status = ResolveStatus.Failed;
            return null;
        }

        for (int i = first; i < parts.Count - 1; i++)
        {
            int next;
            fixed (byte* c = parts[i])
            {
                next = openat(fd, c, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC, 0);
            }

            Errno e = Interop.LastErrno;
            if (cache is not null && next >= 0)
            {
                cache.Add(parts, i + 1, fcntl(next, F_DUPFD_CLOEXEC, 3));
            }

            close(fd);
            if (next < 0)
            {
                status = e switch
                {
                    Errno.ENOENT => ResolveStatus.ParentMissing,
                    Errno.ENOTDIR or Errno.ELOOP => ResolveStatus.NotDirectory,
                    _ => ResolveStatus.Failed,
                };
                return null;
            }

            fd = next;
        }

        status = ResolveStatus.Ok;
        var full = new List<byte>();
        foreach (byte[] p in parts)
        {
            full.Add((byte)'/');
            full.AddRange(p.AsSpan(0, p.Length - 1).ToArray());
        }

        byte[] fullBytes = [.. full];
        return new SafePath(fd, Journal.PathText.ToText(fullBytes), fullBytes, parts[^1]);
    }

    [ThreadStatic]
    private static DirectoryCache? s_cache;

    /// <summary>
    /// While the returned scope lives, <see cref="Resolve(string, byte[], out ResolveStatus)"/> on this
    /// thread reuses the directories it opened before (a rollback resolves thousands of paths in the same
    /// few directories: without it, two syscalls per component per action). A cached directory is used
    /// only if the kernel's name for it (readlink of /proc/self/fd/N) is still exactly the path asked
    /// for: a directory renamed, removed or replaced by a symlink since is not reused, and no
    /// invalidation is needed. Disposing closes every cached descriptor.
    /// </summary>
    public static IDisposable CacheDirectories()
    {
        if (s_cache is not null)
        {
            return new DirectoryCache(); // nested: the outer scope keeps its cache
        }

        s_cache = new DirectoryCache();
        return s_cache;
    }

    /// <summary>O_PATH descriptors of directories by their path ("/a/b"), at most <see cref="Capacity"/>.</summary>
    private sealed class DirectoryCache : IDisposable
    {
        private const int Capacity = 4096;
        private readonly Dictionary<string, int> _fds = new(StringComparer.Ordinal);
        private readonly byte[] _link = new byte[4097];

        /// <summary>The deepest cached, still valid ancestor of the last component; <paramref name="depth"/> components resolved.</summary>
        public int Deepest(List<byte[]> parts, out int depth)
        {
            for (depth = parts.Count - 1; depth > 0; depth--)
            {
                string key = Key(parts, depth);
                if (!_fds.TryGetValue(key, out int cached))
                {
                    continue;
                }

                if (StillAt(cached, key))
                {
                    return fcntl(cached, F_DUPFD_CLOEXEC, 3);
                }

                _fds.Remove(key);
                close(cached);
            }

            return -1;
        }

        public void Add(List<byte[]> parts, int depth, int fd)
        {
            if (fd < 0)
            {
                return;
            }

            if (_fds.Count >= Capacity)
            {
                Clear();
            }

            string key = Key(parts, depth);
            if (_fds.Remove(key, out int old))
            {
                close(old);
            }

            _fds[key] = fd;
        }

        /// <summary>The kernel's current name of the directory is exactly <paramref name="key"/>.</summary>
        private bool StillAt(int fd, string key)
        {
            byte[] proc = Encoding.ASCII.GetBytes("/proc/self/fd/" + fd.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\0");
            nint n;
            fixed (byte* p = proc)
            fixed (byte* buf = _link)
            {
                n = readlink(p, buf, (nuint)_link.Length);
            }

            return n > 0 && n < _link.Length && n == key.Length && Encoding.Latin1.GetString(_link, 0, (int)n) == key;
        }

        /// <summary>"/" + the first <paramref name="depth"/> components joined by "/", bytes as Latin-1 chars (one char per byte).</summary>
        private static string Key(List<byte[]> parts, int depth)
        {
            var sb = new StringBuilder();
            for (int i = 0; i < depth; i++)
            {
                sb.Append('/');
                sb.Append(Encoding.Latin1.GetString(parts[i], 0, parts[i].Length - 1));
            }

            return sb.ToString();
        }

        private void Clear()
        {
            foreach (int fd in _fds.Values)
            {
                close(fd);
            }

            _fds.Clear();
        }

        public void Dispose()
        {
            Clear();
            if (ReferenceEquals(s_cache, this))
            {
                s_cache = null;
            }
        }
    }

    /// <summary>lstat of the last component (relative to the parent fd, no follow).</summary>
    public bool TryLstat(out Interop.Stat st)
    {
        Interop.Stat s;
        int rc;
        fixed (byte* n = Name)
        {
            rc = fstatat(ParentFd, n, &s, AT_SYMLINK_NOFOLLOW);
        }

        st = s;
        return rc == 0;
    }

    public void Dispose()
    {
        if (ParentFd >= 0)
        {
            close(ParentFd);
            ParentFd = -1;
        }
    }

    private static byte[] Concat(byte[] a, ReadOnlySpan<byte> b)
    {
        // a + b + NUL (b may already end in NUL: then it is kept as the terminator).
        bool terminated = !b.IsEmpty && b[^1] == 0;
        byte[] r = new byte[a.Length + b.Length + (terminated ? 0 : 1)];
        a.CopyTo(r, 0);
        b.CopyTo(r.AsSpan(a.Length));
        return r;
    }

    internal static string Describe(ResolveStatus status) => status switch
    {
        ResolveStatus.ParentMissing => "its directory is missing",
        ResolveStatus.NotDirectory => "a component of its path is not a directory (a symlink?); not followed",
        ResolveStatus.Invalid => "not an absolute path",
        _ => "its directory cannot be opened",
    };
}
