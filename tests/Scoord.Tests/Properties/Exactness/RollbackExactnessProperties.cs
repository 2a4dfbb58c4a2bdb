using System.Globalization;
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
        string? failure = c.Setup() ?? c.RunAll();
        if (failure is null)
        {
            inspect?.Invoke(c);
            failure = c.RollbackTwiceAndVerify(firstBeforeLastRun: false);
        }

        return failure is null ? null : c.Report(failure);
    }
}

/// <summary>
/// Issue 10, Build item 5 (--force): after the runs, random changes made outside scoord (plain python3)
/// to objects the programs touched after the checkpoint: overwrite, append, truncate, create at a name,
/// delete, chmod, utime, setxattr/removexattr. `scoord rollback --force CKPT` must exit 0 and give the
/// checkpoint's listing exactly; it takes a checkpoint `before-rollback-ID` first, and `scoord rollback
/// ID` gives back exactly the outside state. Fewer cases than the main property (each costs the same).
/// </summary>
[Trait("Category", "Property")]
public sealed class ForceRollbackProperties(ITestOutputHelper output)
{
    [Fact]
    public void ForceOverOutsideChanges_GivesTheCheckpointExactly_AndItsOwnCheckpointGivesTheOutsideStateBack()
    {
        RollbackProperties.RequireUserXattrs();
        int cases = 0, withChanges = 0;
        ExactnessCheck.Run("rollback --force", ExactProgramArb.Programs(new ProgramShape(50, 300, Outside: true)), ExactnessCheck.Cases(20), p =>
        {
            using var c = new ExactnessCase(p);
            string? failure = c.Setup() ?? c.RunAll();
            if (failure is null)
            {
                failure = c.ForceAndVerify(c.Targets(firstBeforeLastRun: false).First, p.Outside);
                cases++;
                withChanges += c.OutsideChangesMade > 0 ? 1 : 0;
            }

            return failure is null ? null : c.Report(failure);
        }, output, () => $"{withChanges} of {cases} cases made outside changes");

        // The property proves something only if the outside changes really happened.
        Assert.True(withChanges * 4 >= cases * 3, $"only {withChanges} of {cases} cases found a fair target for an outside change");
    }
}

/// <summary>
/// Issue 10, Build item 3: the main property with the coordinator of the last run SIGKILLed at a random
/// moment (the traced programs die with it). Rollback to a checkpoint taken before that run, then to
/// another one, must be exact with zero conflicts (pending operations are resolved against the disk).
/// </summary>
[Trait("Category", "Property")]
public sealed class KilledCoordinatorProperties(ITestOutputHelper output)
{
    [Fact]
    public void CoordinatorKilledDuringTheLastRun_RollbackToACheckpointBeforeIt_IsExact_WithoutConflicts()
    {
        RollbackProperties.RequireUserXattrs();
        int cases = 0, killed = 0;
        ExactnessCheck.Run("rollback after kill -9 of the coordinator", ExactProgramArb.Programs(new ProgramShape(50, 400, Kill: true)), ExactnessCheck.Cases(20), p =>
        {
            using var c = new ExactnessCase(p);
            string? failure = c.Setup() ?? c.RunAll();
            if (failure is null)
            {
                cases++;
                killed += c.Killed ? 1 : 0;
                failure = c.RollbackTwiceAndVerify(firstBeforeLastRun: true);
            }

            return failure is null ? null : c.Report(failure);
        }, output, () => $"the coordinator was killed mid-run in {killed} of {cases} cases");

        Assert.True(killed * 2 >= cases, $"the coordinator was killed in only {killed} of {cases} cases (the others ended first)");
    }
}

/// <summary>
/// Issue 10, Build item 4: the main property on a file system that reuses inode numbers at once (a
/// 16 MiB ext4 with 64 inodes in a loop file, made and mounted per case; the journal outside it). The
/// driver counts new objects whose inode number was seen before in the case; the test asserts that reuse
/// really happened.
/// </summary>
[Trait("Category", "Property")]
public sealed class InodeReuseProperties(ITestOutputHelper output)
{
    [Fact]
    public void OnExt4WithFewInodes_RollbackIsExact_AndInodeNumbersWereReallyReused()
    {
        string? unavailable = Support.Ext4LoopMount.Unavailable();
        Assert.True(unavailable is null, unavailable);
        int cases = 0, withReuse = 0, created = 0, reused = 0;
        ExactnessCheck.Run("rollback exactness on ext4 (inode reuse)", ExactProgramArb.Programs(new ProgramShape(50, 400)), ExactnessCheck.Cases(20),
            p => RollbackExactnessProperties.Evaluate(p, onExt4: true, c =>
            {
                (int n, int r) = c.InodeReuse();
                cases++;
                created += n;
                reused += r;
                withReuse += r > 0 ? 1 : 0;
            }),
            output,
            () => string.Create(CultureInfo.InvariantCulture, $"inode numbers reused in {withReuse} of {cases} cases ({reused} of {created} new objects)"));

        Assert.True(withReuse * 2 >= cases, $"inode numbers were reused in only {withReuse} of {cases} cases: the property did not exercise reuse");
    }
}
