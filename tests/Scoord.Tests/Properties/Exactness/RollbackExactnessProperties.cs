using Xunit.Abstractions;

namespace Scoord.Tests.Properties.Exactness;

/// <summary>
/// Issue 10, Build item 2 (and the checks of item 5): generated programs of 50-400 file operations of
/// every kind (exactness_driver.py), run as 2-4 `scoord run`s of a python3 driver that also starts child
/// processes (sh, cp, mv, sed), with checkpoints from outside between the runs and from inside the
/// program; then `scoord rollback` to one checkpoint and then to another (earlier or later). After each:
/// exit 0, no "conflict" on stderr, the full listing equals the one taken right after the checkpoint,
/// `diff` prints nothing, `--dry-run` says 0 changes, and a second rollback journals nothing and changes
/// nothing. CI runs 200 cases; SCOORD_PROPERTY_CASES=N is the long mode (docs/reliability.md).
/// </summary>
[Trait("Category", "Property")]
public sealed class RollbackExactnessProperties(ITestOutputHelper output)
{
    [Fact]
    public void RollbackToACheckpointThenToAnother_GivesEachListingExactly_WithoutConflicts_AndAgainChangesNothing()
    {
        RollbackProperties.RequireUserXattrs();
        ExactnessCheck.Run("rollback exactness", ExactProgramArb.Programs(new ProgramShape(50, 400)), ExactnessCheck.Cases(200), p => Evaluate(p), output, parallel: 2);
    }

    /// <summary>One case: null when every check held, else the report.</summary>
    internal static string? Evaluate(ExactProgram program, bool onExt4 = false, Action<ExactnessCase>? inspect = null)
    {
        using var c = new ExactnessCase(program, onExt4);
        return c.Checked(() =>
        {
            string? failure = c.Setup() ?? c.RunAll();
            if (failure is null)
            {
                inspect?.Invoke(c);
                failure = c.RollbackTwiceAndVerify(firstBeforeLastRun: false);
            }

            return failure;
        });
    }
}
