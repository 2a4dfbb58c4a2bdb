namespace Scoord.Interceptors.Decoding;

/// <summary>
/// What the decode handlers share across calls: the policy, the filesystem-type cache, and the buffers
/// the decoded paths are written into (one decoding thread; <see cref="DecodedCall"/> spans point here).
/// </summary>
internal sealed class DecodeContext(DecodePolicy policy)
{
    public const int PathMax = 4096;

    /// <summary>
    /// The longest absolute (display) path journaled: deeper than PATH_MAX is reachable with relative paths and
    /// journaled (names found by <see cref="LongPath"/>); past this the path is recorded as unreadable.
    /// </summary>
    public const int DisplayMax = 64 * 1024;

    public DecodePolicy Policy { get; } = policy;

    public ObjectClassifier Classifier { get; } = new();

    // Path 1 and path 2: the raw argument, the display form, and the kernel-resolvable form.
    internal readonly byte[] Raw = new byte[PathMax];
    internal readonly byte[] Raw2 = new byte[PathMax];
    internal readonly byte[] Path = new byte[DisplayMax];
    internal readonly byte[] Path2 = new byte[DisplayMax];
    internal readonly byte[] Stat = new byte[PathMax + 64];
    internal readonly byte[] Stat2 = new byte[PathMax + 64];

    /// <summary>The directory a relative path starts from (cwd or dirfd), then symlink targets.</summary>
    internal readonly byte[] Base = new byte[DisplayMax];

    /// <summary>/proc/PID/fd/N of scoord's own copy of an fd.</summary>
    internal readonly byte[] Proc = new byte[64];

    // Directories opened to shorten stat paths that would pass PATH_MAX ("/proc/TID/cwd/" + a relative path
    // the kernel accepts): kept open until overwritten, so that the exit stop's post-states (which copy
    // the stat path) still resolve. Rare: a ring, the oldest closed when it wraps.
    private readonly int[] _kept = new int[256];
    private int _keptNext;

    /// <summary>Keeps <paramref name="fd"/> open for a while (see the ring above).</summary>
    internal void Keep(int fd)
    {
        int old = _kept[_keptNext];
        if (old > 0)
        {
            Interop.Libc.close(old);
        }

        _kept[_keptNext] = fd;
        _keptNext = (_keptNext + 1) % _kept.Length;
    }
}
