using System.Globalization;
using System.Text.RegularExpressions;
using Scoord.Tests.Support;

namespace Scoord.Tests.FastPath;

/// <summary>The fast path's drain allocates nothing per record in steady state (as the tracer's hot path).</summary>
public sealed partial class DrainAllocationTests
{
    [GeneratedRegex(@"ring drain: (\d+) records, \d+ malformed, \d+ passes, (\d+) bytes allocated")]
    private static partial Regex StatsLine();

    private static (long Records, long Bytes) Drain(int writes)
    {
        using var f = new FastPathRun();
        string code = $"import os\nfd = os.open('f', os.O_WRONLY | os.O_CREAT, 0o644)\nfor i in range({writes}):\n    os.pwrite(fd, b'x' * 64, i * 64)\nos.close(fd)\n";
        CliResult run = f.Traced("python3", "-c", code);
        Assert.True(run.ExitCode == 0, run.ToString());
        Match m = StatsLine().Match(run.Stderr);
        Assert.True(m.Success, "no drain stats in the debug log:\n" + run.Stderr);
        return (long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
    }

    [Fact]
    public void TenTimesMoreRecords_AllocateNoMoreOnTheDrainThread()
    {
        (long recordsSmall, long bytesSmall) = Drain(500);
        (long recordsLarge, long bytesLarge) = Drain(5000);
        Assert.True(recordsLarge - recordsSmall >= 8000, $"the larger run drained {recordsLarge - recordsSmall} more records");
        long extra = bytesLarge - bytesSmall;
        Assert.True(extra < 8000 * 8, $"the drain thread allocated {extra} more bytes for {recordsLarge - recordsSmall} more records ({bytesSmall} -> {bytesLarge})");
    }
}
