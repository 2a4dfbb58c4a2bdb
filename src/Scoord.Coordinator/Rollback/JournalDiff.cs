using Scoord.Journal;

namespace Scoord.Coordinator.Rollback;

/// <summary>
/// `scoord diff`: the state at a checkpoint against the state now, net of everything between, for the
/// names and objects the journal touched (works while a coordinator runs: the journal is read through a
/// read-only view, the files as they are).
/// </summary>
public static class JournalDiff
{
    public static IReadOnlyList<PathChange> Compute(string journalDir, string checkpoint)
    {
        using JournalStore store = JournalStore.OpenReadOnly(journalDir);
        CheckpointInfo ckpt = store.Reader.FindCheckpoint(checkpoint);
        return RollbackEngine.Diff(store, ckpt);
    }
}
