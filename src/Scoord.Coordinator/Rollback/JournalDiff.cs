using Scoord.Journal;

namespace Scoord.Coordinator.Rollback;

/// <summary>`scoord diff`: the changes since a checkpoint, from the journal (works while a coordinator runs).</summary>
public static class JournalDiff
{
    public static IReadOnlyList<PathChange> Compute(string journalDir, string checkpoint)
    {
        using JournalStore store = JournalStore.OpenReadOnly(journalDir);
        CheckpointInfo ckpt = store.Reader.FindCheckpoint(checkpoint);
        return ChangeSummary.Build(JournalHistory.Load(store.Reader, ckpt.Seq));
    }
}
