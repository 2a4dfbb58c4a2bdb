namespace Scoord.Interceptors.Seccomp;

/// <summary>Per-launch choices baked into the generated filter.</summary>
public readonly record struct FilterOptions
{
    /// <summary>
    /// Bit i set: writes through fd i (0-2) pass without a stop. scoord sets a bit only when fd i is
    /// not a regular file at launch (a terminal or a pipe); see StdioGuard for fds that become files later.
    /// </summary>
    public int StdioFastFds { get; init; }

    /// <summary>Stop at fsync/fdatasync/sync/syncfs/msync/sync_file_range (durability sync-points and strict).</summary>
    public bool TraceSyncs { get; init; }

    /// <summary>Stop at close (only with --app-checkpoint: a checkpoint file closed after writing).</summary>
    public bool TraceCloses { get; init; }
}
