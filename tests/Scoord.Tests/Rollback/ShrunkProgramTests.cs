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
}
