namespace Scoord.Coordinator;

/// <summary>How much of the journal is forced to stable storage, and when (DESIGN.md, durability levels).</summary>
public enum Durability
{
    /// <summary>Each record is in RocksDB's WAL (the OS page cache) before the syscall proceeds: survives a crash of scoord or of the app.</summary>
    Process,
    /// <summary>As Process, plus the journal is fsynced before any sync the app itself asks for is let through.</summary>
    SyncPoints,
    /// <summary>The journal is fsynced before every journaled operation proceeds (group-committed).</summary>
    Strict,
}

/// <summary>Everything `scoord run` was asked to do.</summary>
public sealed record RunOptions
{
    public required string JournalDirectory { get; init; }
    /// <summary>Program and its arguments; Command[0] is looked up on PATH when it has no slash.</summary>
    public required IReadOnlyList<string> Command { get; init; }
    public IReadOnlyList<string> Exclude { get; init; } = [];
    public IReadOnlyList<string> Only { get; init; } = [];

    /// <summary>
    /// Journal the files open on fds 0-2 when the run starts too (`--journal-stdio`). By default they are
    /// the caller's (`scoord run -- make >> build.log`): left out of the journal, and rollback leaves them alone.
    /// </summary>
    public bool JournalStdio { get; init; }
    public Durability Durability { get; init; } = Durability.Process;
    public TimeSpan? CheckpointEvery { get; init; }

    /// <summary>
    /// --app-checkpoint GLOB: when the app finishes writing a file matching a glob (renamed into place, or
    /// closed after writing), a rollback point is taken right there, named after the file.
    /// </summary>
    public IReadOnlyList<string> AppCheckpoint { get; init; } = [];

    /// <summary>--on-checkpoint CMD: run (sh -c) inside every checkpoint barrier with SCOORD_CHECKPOINT_ID and SCOORD_PIDS; non-zero fails the checkpoint.</summary>
    public string? OnCheckpoint { get; init; }

    /// <summary>--memory: where the memory half of a checkpoint comes from (docs/synchronizer.md). Default: App with --app-checkpoint, else None.</summary>
    public Restore.MemoryProvider Memory { get; init; } = Restore.MemoryProvider.None;

    /// <summary>--checkpoint-signal SIG (a signal number): with CheckpointEvery, SIG is sent to the main program every interval instead of a barrier checkpoint; the app answers by writing an --app-checkpoint file.</summary>
    public int? CheckpointSignal { get; init; }

    /// <summary>--checkpoint-timeout: how long the app may take to answer --checkpoint-signal before a warning.</summary>
    public TimeSpan CheckpointTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>--no-fastpath: ptrace only, no in-process fast path (also SCOORD_NO_FASTPATH in the environment).</summary>
    public bool NoFastPath { get; init; }

    /// <summary>Set by `scoord restore`: the checkpoint id the run was relaunched from (kept in the run record).</summary>
    public int? RestoredFrom { get; init; }

    /// <summary>Set by `scoord restore` of a --memory scoord checkpoint with a memory image: the run brings the process back from it instead of launching the command.</summary>
    public bool RestoreMemory { get; init; }
}
