namespace Scoord.Journal;

/// <summary>
/// A checkpoint: a rollback point in the journal (docs/journal-format.md, CHECKPOINT record).
/// <see cref="Seq"/> is the checkpoint's own sequence number: the operations it covers are those with a
/// smaller seq; rolling back to it undoes every record after it. Ids count from 1 in order; names are
/// unique; <see cref="Epoch"/> is the undo epoch that starts with it (equal to the id in format 1).
/// </summary>
public sealed record CheckpointInfo(int Id, string Name, ulong Seq, long TimeNs, ulong Epoch)
{
    /// <summary>The time the checkpoint was taken (UTC).</summary>
    public DateTimeOffset Time => DateTimeOffset.UnixEpoch.AddTicks(TimeNs / 100);
}
