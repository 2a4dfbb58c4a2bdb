using Scoord.Interceptors.Decoding;

namespace Scoord.Coordinator.Tracing;

/// <summary>Settings the tracer needs, prepared once before launch (paths as bytes, identities as (dev, ino)).</summary>
internal sealed class TracerOptions
{
    /// <summary>
    /// What the decoder protects and journals: the journal's canonical path; (dev, ino) of the journal
    /// directory, every directory inside it and every journal file that had another name outside at
    /// launch (nlink &gt; 1); the journal's ancestors; --only and --exclude.
    /// </summary>
    public required DecodePolicy Policy { get; init; }

    /// <summary>--journal-stdio: the files on fds 0-2 of the run (and of joining programs) are journaled too.</summary>
    public bool JournalStdio { get; init; }
    /// <summary>The journal's canonical path as text (for the launcher's read-only bind mount).</summary>
    public string JournalPathText { get; init; } = "";
    public Durability Durability { get; init; }
    /// <summary>--app-checkpoint globs (absolute).</summary>
    public PathGlob[] AppCheckpointGlobs { get; init; } = [];
    /// <summary>--on-checkpoint CMD.</summary>
    public string? OnCheckpoint { get; init; }
    /// <summary>The command line `scoord run` was given (application 1 of the group, for `scoord status`).</summary>
    public IReadOnlyList<string> Command { get; init; } = [];
    /// <summary>The journal directory to make read-only in the app's mount namespace (`--protect`), or null; also for programs that join the group.</summary>
    public string? MountProtect { get; init; }
    /// <summary>--memory scoord: every checkpoint also dumps the memory of the group (<see cref="Memory.MemoryCheckpointer"/>).</summary>
    public bool MemoryImages { get; init; }
    /// <summary>The in-process fast path of this run, or null (ptrace only: not opted in, --no-fastpath, --memory scoord, ...).</summary>
    public FastPath.FastPathSession? FastPath { get; set; }
}
