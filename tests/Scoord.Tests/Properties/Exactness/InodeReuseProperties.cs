using System.Globalization;
using Xunit.Abstractions;

namespace Scoord.Tests.Properties.Exactness;

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
