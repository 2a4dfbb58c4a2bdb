using Scoord.Journal;

namespace Scoord.Coordinator.Rollback;

/// <summary>Where a rollback is, for a progress display.</summary>
public readonly record struct RollbackProgress(string Phase, long Done, long Total);

/// <summary>What a rollback did (or, with --dry-run, would do).</summary>
public sealed class RollbackResult
{
    public required CheckpointInfo Checkpoint { get; init; }

    public bool DryRun { get; init; }

    /// <summary>Dry run: one line per object ("restore PATH (content, mode)", "remove PATH", "recreate PATH").</summary>
    public List<string> Planned { get; } = new();

    /// <summary>"conflict: PATH changed outside the journal (size 10 -> 12)" lines.</summary>
    public List<string> Conflicts { get; } = new();

    /// <summary>Conflicts whose objects were left alone (all of them unless --force).</summary>
    public int ConflictsLeftAlone { get; set; }

    /// <summary>Actions that failed ("cannot remove PATH: Directory not empty").</summary>
    public List<string> Errors { get; } = new();

    /// <summary>Mutations performed (each journaled).</summary>
    public long Actions { get; set; }

    public int Removed { get; set; }
    public int Recreated { get; set; }
    public int Renamed { get; set; }
    public int ContentRestored { get; set; }
    public int MetadataRestored { get; set; }

    /// <summary>The checkpoint taken right before the rollback's first change (rolling back to it undoes the rollback); null when nothing changed.</summary>
    public CheckpointInfo? BeforeRollback { get; set; }

    /// <summary>0: everything restored; 3: conflicts left alone (the rest restored); 1: errors.</summary>
    public int ExitCode => Errors.Count > 0 ? 1 : ConflictsLeftAlone > 0 ? 3 : 0;
}
