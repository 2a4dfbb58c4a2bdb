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

    /// <summary>
    /// The in-process fast path's stub page (0: off). Syscalls made from it (their return address is the
    /// page + 2, both halves of the instruction pointer checked) pass without a stop; and exec, seccomp
    /// filters (seccomp, prctl PR_SET_SECCOMP) and every mapping change below 4 GiB stop, so that the
    /// preload stays in place and no other code can take the page's address.
    /// </summary>
    public ulong FastPathStub { get; init; }
}
