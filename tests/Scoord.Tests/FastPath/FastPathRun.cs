using System.Text.RegularExpressions;
using Scoord.Tests.Support;
using Scoord.Tests.Tracing;

namespace Scoord.Tests.FastPath;

/// <summary>
/// A <see cref="TracedRun"/> with the fast path on whatever the environment says (CI runs the journaling
/// tests a second time with SCOORD_NO_FASTPATH=1; these tests are about the fast path itself).
/// </summary>
public sealed partial class FastPathRun : IDisposable
{
    public FastPathRun()
    {
        Run.Cli.Environment["SCOORD_NO_FASTPATH"] = null;
        Run.Cli.Environment["SCOORD_FASTPATH"] = "1";
    }

    public TracedRun Run { get; } = new();

    public string Path(string relative) => Run.Path(relative);

    /// <summary>`scoord -vv run -- args` (the debug log carries the drain's statistics).</summary>
    public CliResult Traced(params string[] command) => Run.Cli.Run(["-vv", "run", "--", .. command]);

    public IReadOnlyList<LogLine> Log(params string[] filters) => Run.Log(filters);

    /// <summary>Records the run's drain applied to the journal (from its debug log).</summary>
    public static long DrainedRecords(CliResult run)
    {
        Match m = DrainLine().Match(run.Stderr);
        Assert.True(m.Success, "no drain statistics in the debug log (was the fast path on?):\n" + run.Stderr);
        return long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"ring drain: (\d+) records")]
    private static partial Regex DrainLine();

    public void Dispose() => Run.Dispose();
}
