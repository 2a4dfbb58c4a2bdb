namespace Scoord.Journal;

/// <summary>Counts for `scoord status`.</summary>
public sealed class JournalStats
{
    /// <summary>Intent records (journaled operations, refused ones included).</summary>
    public long Operations { get; init; }
    public long Completed { get; init; }
    public long Failed { get; init; }
    public long Pending { get; init; }

    /// <summary>Operations scoord failed because of a fault of its own (flagged Fault; counted in Failed too).</summary>
    public long Faults { get; init; }

    /// <summary>Process events (fork, vfork, clone, exec, exit).</summary>
    public long ProcessEvents { get; init; }

    /// <summary>Distinct pids seen in process events.</summary>
    public long Processes { get; init; }

    public ulong LastSeq { get; init; }

    /// <summary>Time of the first and last event; null for an empty journal.</summary>
    public DateTimeOffset? FirstTime { get; init; }
    public DateTimeOffset? LastTime { get; init; }

    /// <summary>Bytes of every file under the journal directory.</summary>
    public long BytesOnDisk { get; init; }
}
