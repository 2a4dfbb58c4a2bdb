using System.Text.RegularExpressions;
using Scoord.Tests.Support;

namespace Scoord.Tests.Tracing;

/// <summary>The tracer's hot path allocates nothing per stop in steady state (ptrace only: with the fast path these writes make no stops).</summary>
public sealed partial class HotPathAllocationTests
{
    [GeneratedRegex(@"tracer: (\d+) stops, (\d+) bytes allocated")]
    private static partial Regex StatsLine();

    private static (long Stops, long Bytes) Trace(int writes)
    {
        using var t = new TracedRun();
        string code = $"import os\nfd = os.open('f', os.O_WRONLY | os.O_CREAT, 0o644)\nfor i in range({writes}):\n    os.pwrite(fd, b'x' * 64, i * 64)\nos.close(fd)\n";
        CliResult run = t.Cli.Run("-vv", "run", "--no-fastpath", "--", "python3", "-c", code);
        Assert.True(run.ExitCode == 0, run.ToString());
        Match m = StatsLine().Match(run.Stderr);
        Assert.True(m.Success, "no tracer stats in the debug log:\n" + run.Stderr);
        return (long.Parse(m.Groups[1].Value), long.Parse(m.Groups[2].Value));
    }

    [Fact]
    public void TenTimesMoreJournaledWrites_AllocateNoMoreOnTheTracerThread()
    {
        (long stopsSmall, long bytesSmall) = Trace(500);
        (long stopsLarge, long bytesLarge) = Trace(5000);
        Assert.True(stopsLarge - stopsSmall >= 9000, $"the larger run made {stopsLarge - stopsSmall} more stops");
        // 9,000 more stops (each with a journal intent or completion) may not cost more than a few
        // stray bytes per stop (buffers grown once, epoch bitmaps); any per-stop allocation would cost
        // at least 24 bytes per stop, three times this bound.
        long extra = bytesLarge - bytesSmall;
        Assert.True(extra < 9000 * 8, $"tracer thread allocated {extra} more bytes for {stopsLarge - stopsSmall} more stops ({bytesSmall} -> {bytesLarge})");
    }
}
