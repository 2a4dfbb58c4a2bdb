namespace Scoord.Journal.Checking;

/// <summary>What `scoord fsck` found: counts, and one line per damage (<c>FAMILY WHERE: WHAT</c>).</summary>
public sealed class JournalCheckReport
{
    public string Directory { get; internal set; } = string.Empty;

    public List<string> Damage { get; } = new();

    public long Records { get; internal set; }

    public long Intents { get; internal set; }

    public long Completions { get; internal set; }

    public long Checkpoints { get; internal set; }

    public long UndoItems { get; internal set; }

    public long ProcessEvents { get; internal set; }

    /// <summary>Rows of the per-process index ("procs"): one per process event.</summary>
    public long ProcessIndexRows { get; internal set; }

    /// <summary>Checkpoint events in "ops" (each checkpoint is a row of "checkpoints" and an event of "ops").</summary>
    public long CheckpointEvents { get; internal set; }

    /// <summary>Format, journal identity and run records ("meta").</summary>
    public long MetaRecords { get; internal set; }

    /// <summary>Records in none of the counts above (each is also a damage line).</summary>
    public long Unaccounted => Records - Intents - Completions - ProcessEvents - ProcessIndexRows - CheckpointEvents - Checkpoints - UndoItems - MetaRecords;

    public ulong LastSeq { get; internal set; }

    /// <summary>Records in a fast-path ring left by a run that did not end (applied at the next open for writing); -1: no ring.</summary>
    public long RingRecords { get; internal set; } = -1;

    public bool IsClean => Damage.Count == 0;
}
