using System.Globalization;
using Scoord.Tests.Support;

namespace Scoord.Tests.FastPath;

/// <summary>
/// A fast-path record whose undo capture is as large as a record may be. Found by the exactness property in
/// CI (a python3 driver died of SIGSEGV in the interposer): an open with O_TRUNC of a small file on its first
/// touch captured the content twice (as the first touch, then as what the truncation drops), and near 64 KiB
/// the INTENT filled the record to its end and left the DONE no room. The content is now captured once, and
/// the INTENT never takes the DONE's room.
/// </summary>
public sealed class FastPathRecordRoomTests
{
    [Fact]
    public void TruncatingOpensOfFilesNearTheRecordSize_AllComplete_CaptureTheContentOnce_AndRollBackExactly()
    {
        using var f = new FastPathRun();
        // Sizes around twice-the-content = the record's room (65,264-65,280 bytes crashed before the fix).
        var sizes = Enumerable.Range(0, 48).Select(i => 65_160 + (i * 8)).ToList();
        var before = new Dictionary<string, byte[]>();
        foreach (int n in sizes)
        {
            byte[] data = new byte[n];
            new Random(n).NextBytes(data);
            string name = $"f{n}";
            File.WriteAllBytes(f.Path(name), data);
            before[name] = data;
        }

        CliResult ckpt = f.Run.Cli.Run("checkpoint", "--name", "c");
        Assert.True(ckpt.ExitCode == 0, ckpt.ToString());

        const string Code = """
            import os, sys
            for name in sys.argv[1:]:
                fd = os.open(name, os.O_WRONLY | os.O_TRUNC)
                os.write(fd, b'y')
                os.close(fd)
            print('done')
            """;
        CliResult run = f.Run.Cli.Run(["-vv", "run", "--", "python3", "-c", Code, .. before.Keys]);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("done", run.StdoutLines);
        Assert.True(FastPathRun.DrainedRecords(run) > 2 * sizes.Count, "the opens went through the rings");
        Assert.All(before.Keys, name => Assert.Equal(1, new FileInfo(f.Path(name)).Length));

        // Each truncating open carries its pre-image once: one `blocks` item per open.
        CliResult undo = f.Run.Cli.Run("log", "--undo");
        Assert.True(undo.ExitCode == 0, undo.ToString());
        foreach (string name in before.Keys)
        {
            string path = f.Path(name);
            int at = undo.StdoutLines.ToList().FindIndex(l => l.Contains(" openat ", StringComparison.Ordinal) && l.EndsWith(path, StringComparison.Ordinal));
            Assert.True(at >= 0, $"no openat of {path} in the journal:\n{undo.Stdout}");
            int blocks = undo.StdoutLines.Skip(at + 1).TakeWhile(l => l.StartsWith("    ", StringComparison.Ordinal) && !char.IsDigit(l.TrimStart()[0]))
                .Count(l => l.TrimStart().StartsWith("blocks ", StringComparison.Ordinal));
            Assert.True(blocks == 1, $"{name}: {blocks} blocks items for its truncating open (expected 1)");
        }

        CliResult back = f.Run.Cli.Run("rollback", "c");
        Assert.True(back.ExitCode == 0, back.ToString());
        foreach ((string name, byte[] data) in before)
        {
            Assert.True(data.AsSpan().SequenceEqual(File.ReadAllBytes(f.Path(name))), $"{name} ({data.Length.ToString(CultureInfo.InvariantCulture)} bytes) is not what it was at the checkpoint");
        }
    }
}
