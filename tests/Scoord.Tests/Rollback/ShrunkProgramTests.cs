using Scoord.Tests.Properties;

namespace Scoord.Tests.Rollback;

/// <summary>
/// Regression tests: the minimal programs the rollback properties (tests/Scoord.Tests/Properties)
/// shrank failures to, run exactly as the property runs them (one python3 process under `scoord run`,
/// checkpoints taken from inside, the tree snapshotted at each). Each must roll back cleanly.
/// </summary>
public sealed class ShrunkProgramTests
{
    private static void AssertRollsBack(int[] picks, params Step[] steps)
    {
        RollbackProperties.RequireUserXattrs();
        string? failure = RollbackProperties.Execute(new FileProgram(steps, picks));
        Assert.True(failure is null, failure);
    }

    private static Step S(StepOp op, int a = 0, int b = 0, int off = 0, int len = 1, int seed = 0) => new(op, a, b, off, len, seed);

    /// <summary>
    /// A shared mapping written and unmapped (munmap is not traced) before a checkpoint: its file's
    /// mtime moved with the memory write, after the post-state the mmap recorded. The barrier records
    /// the post-state of unmapped mappings, so a rollback to the earlier checkpoint sees no outside change.
    /// </summary>
    [Fact]
    public void A_mapping_unmapped_before_a_later_checkpoint_is_not_an_outside_change()
    {
        // mmap_write('d0/b', 0, data(0, 1)); mmap_across_checkpoint('a', 0, data(0, 1)); rollback 1
        AssertRollsBack([0], S(StepOp.MmapWrite, a: 5), S(StepOp.MmapAcrossCheckpoint, a: 0));
    }

    /// <summary>
    /// `os.link('d', 'd0/a')` with d a symlink: link(2) does not follow it, so d0/a is a second name of
    /// the symlink's inode. The first rollback removes d0/a (journaled, nlink 2); the second undoes that
    /// removal and used to recreate d0/a as a new symlink and map d's identity to it, so the creation's
    /// undo removed it and d's metadata was "not the object the journal recorded". A non-directory with
    /// nlink > 1 is relinked from a surviving name, whatever its type.
    /// </summary>
    [Fact]
    public void A_hard_link_of_a_symlink_survives_two_rollbacks()
    {
        AssertRollsBack([0, 0], S(StepOp.Link, a: 3, b: 4));
    }

    /// <summary>The same, rolling back to the later checkpoint: the symlink's two names come back as one inode (nlink 2), not as a copy.</summary>
    [Fact]
    public void A_hard_link_of_a_symlink_comes_back_as_a_link_not_a_copy()
    {
        AssertRollsBack([0, 1], S(StepOp.Link, a: 3, b: 4), S(StepOp.Checkpoint));
    }

    /// <summary>`os.rename('d', 'd')`: the kernel does nothing; rollback must not "rename it back" (it reported a conflict).</summary>
    [Fact]
    public void A_rename_of_a_name_onto_itself_is_not_undone()
    {
        AssertRollsBack([0, 0], S(StepOp.Rename, a: 3, b: 3));
    }

    /// <summary>
    /// `os.link('a', 'b'); os.rename('a', 'b')`: two hard links of one inode, so rename(2) does nothing
    /// and both names stay. Not undone as a rename (nor replayed in the path mapping).
    /// </summary>
    [Fact]
    public void A_rename_between_two_hard_links_of_one_file_is_not_undone()
    {
        AssertRollsBack([0, 0], S(StepOp.Link, a: 0, b: 1), S(StepOp.Rename, a: 0, b: 1));
    }
}
