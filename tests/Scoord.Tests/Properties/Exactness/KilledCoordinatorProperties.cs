using Xunit.Abstractions;

namespace Scoord.Tests.Properties.Exactness;

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
            return c.Checked(() =>
            {
                string? failure = c.Setup() ?? c.RunAll();
                if (failure is null)
                {
                    cases++;
                    killed += c.Killed ? 1 : 0;
                    failure = c.RollbackTwiceAndVerify(firstBeforeLastRun: true);
                }

                return failure;
            });
        }, output, () => $"the coordinator was killed mid-run in {killed} of {cases} cases");

        // A replay runs one case, whose kill may land after its end this time (the kill moment is a time, not a step).
        Assert.True(Environment.GetEnvironmentVariable("SCOORD_PROPERTY_REPLAY") is { Length: > 0 } || killed * 2 >= cases, $"the coordinator was killed in only {killed} of {cases} cases (the others ended first)");
    }
}
