namespace Scoord.Coordinator.Tracing;

/// <summary>Settings the tracer needs, prepared once before launch (paths as bytes, identities as (dev, ino)).</summary>
internal sealed class TracerOptions
{
    /// <summary>Canonical absolute path of the journal directory (no trailing slash).</summary>
    public required byte[] JournalPath { get; init; }
    /// <summary>The same, as text (for the launcher's read-only bind mount).</summary>
    public string JournalPathText { get; init; } = "";
    /// <summary>
    /// (dev, ino) of the journal directory and every directory inside it (nothing may be created, removed
    /// or changed there), and of every journal file that had another name outside at launch (nlink &gt; 1).
    /// </summary>
    public required HashSet<(ulong Dev, ulong Ino)> ProtectedDirs { get; init; }
    /// <summary>(dev, ino) of every ancestor of the journal directory: these may not be renamed or removed.</summary>
    public required HashSet<(ulong Dev, ulong Ino)> JournalAncestors { get; init; }
    public required byte[][] Only { get; init; }
    public required byte[][] Exclude { get; init; }
    public Durability Durability { get; init; }
    /// <summary>--app-checkpoint globs (absolute).</summary>
    public PathGlob[] AppCheckpointGlobs { get; init; } = [];
    /// <summary>--on-checkpoint CMD.</summary>
    public string? OnCheckpoint { get; init; }
    /// <summary>The command line `scoord run` was given (application 1 of the group, for `scoord status`).</summary>
    public IReadOnlyList<string> Command { get; init; } = [];
    /// <summary>The journal directory to make read-only in the app's mount namespace (`--protect`), or null; also for programs that join the group.</summary>
    public string? MountProtect { get; init; }
}
