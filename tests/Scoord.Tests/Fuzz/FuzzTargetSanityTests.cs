using System.Text;
using Scoord.Cli;
using Scoord.Fuzz.Targets;

namespace Scoord.Tests.Fuzz;

/// <summary>The new fuzz targets check what they claim: they fail on a wrong answer, and the CLI one reaches each command's checks.</summary>
public sealed class FuzzTargetSanityTests
{
    [Theory]
    [InlineData("0", "run", "--checkpoint-every", "30s", "--durability", "strict", "--", "true")]
    [InlineData("2", "run", "--checkpoint-every", "5 parsecs", "--", "true")]
    [InlineData("2", "run", "--durability", "whenever", "--", "true")]
    [InlineData("2", "run", "--")]
    [InlineData("2", "log", "--op", "frobnicate")]
    [InlineData("2", "log", "--pid", "0")]
    [InlineData("0", "log", "--op", "openat,write", "--pid", "7")]
    [InlineData("2", "checkpoint", "--name", "12")]
    [InlineData("2", "-v", "chatty", "status")]
    [InlineData("2", "@.")]
    public void ValidateOnly_RunsEachCommandsArgumentChecks_AndNothingElse(string expected, params string[] argv)
    {
        using var stderr = new StringWriter();
        int exit = new CliApplication(stderr) { ValidateOnly = true }.Run(argv);
        Assert.Equal(int.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), exit);
        Assert.Equal(exit == 0 ? 0 : 1, stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        CliArgsTarget.Fuzz(Encoding.UTF8.GetBytes(string.Join('\0', argv)));
    }

    [Fact]
    public void TraceeMemoryTarget_DecodesAPathAndAnIovecArrayFromItsInput()
    {
        // hole: none, misalignment 0, iovcnt 2, iovec offset 16; memory: "/p\0" padded to 16, two iovecs.
        byte[] input = [0xFF, 0, 2, 0, 0, 0, 0, 0, 0, 0, 16, 0, .. "/p\0"u8, .. new byte[13],
            .. BitConverter.GetBytes(0x1000UL), .. BitConverter.GetBytes(5UL), .. BitConverter.GetBytes(0x2000UL), .. BitConverter.GetBytes(7UL)];
        TraceeMemoryTarget.Fuzz(input); // throws if any decoder disagrees with the model
    }

    [Fact]
    public void RingRecordTarget_AcceptsTheSeedRecords_AndTheirScribbledCopiesAreRefusedWhole()
    {
        string[] seeds = Directory.GetFiles(Scoord.Fuzz.FuzzTargets.CorpusDirectory("ring-record"));
        Assert.Contains(seeds, p => Path.GetFileName(p).StartsWith("intent-", StringComparison.Ordinal));
        Assert.Contains(seeds, p => Path.GetFileName(p).StartsWith("done-", StringComparison.Ordinal));
        foreach (string seed in seeds)
        {
            byte[] record = File.ReadAllBytes(seed);
            Assert.Equal(Scoord.Journal.Ring.RingRecordError.None, Scoord.Journal.Ring.RingRecords.Check(record));
            RingRecordTarget.Fuzz(record);
            byte[] bad = (byte[])record.Clone();
            BitConverter.TryWriteBytes(bad.AsSpan(16 + 84), 0x7fffffffu); // a path length past the record (intent) / the item count region (done)
            RingRecordTarget.Fuzz(bad); // throws if Check and Apply disagree or a bad record is half applied
        }
    }
}
