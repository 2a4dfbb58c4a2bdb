using Scoord.Tests.Support;
using Scoord.Tests.Tracing;

namespace Scoord.Tests.Checkpoints;

/// <summary>`scoord prune --keep N` drops the undo data of older checkpoints and the disk space comes back.</summary>
public sealed class PruneTests
{
    private static long DirectoryBytes(string dir) =>
        new DirectoryInfo(dir).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);

    [Fact]
    public void PruneKeepOne_FreesTheUndoSpace_KeepsTheNewestReachable_AndRefusesPrunedOnes()
    {
        using var t = new TracedRun();
        byte[] data = new byte[4 << 20];
        Random.Shared.NextBytes(data);
        File.WriteAllBytes(t.Path("big"), data);
        Assert.Equal(0, t.Sh("true").ExitCode);
        Assert.Equal(0, t.Cli.Run("checkpoint").ExitCode);
        for (int i = 0; i < 3; i++)
        {
            // Overwrite all 4 MiB in place: each epoch keeps a 4 MiB pre-image.
            CliResult run = t.Sh("head -c 4194304 /dev/urandom | dd of=big conv=notrunc bs=65536 iflag=fullblock 2>/dev/null");
            Assert.True(run.ExitCode == 0, run.ToString());
            Assert.Equal(0, t.Cli.Run("checkpoint").ExitCode);
        }

        string snapshot = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(t.Path("big"))));
        long before = DirectoryBytes(t.Journal);
        Assert.True(before > 12 << 20, $"three 4 MiB pre-images are held: journal is {before} bytes");

        CliResult prune = t.Cli.Run("prune", "--keep", "1");
        Assert.True(prune.ExitCode == 0, prune.ToString());
        long after = DirectoryBytes(t.Journal);
        Assert.True(after < before / 4, $"journal {before} -> {after} bytes after prune --keep 1");

        CliResult list = t.Cli.Run("checkpoints", "--json");
        Assert.Single(list.StdoutLines);
        Assert.Contains("\"id\":4", list.Stdout);

        CliResult pruned = t.Cli.Run("rollback", "1");
        Assert.NotEqual(0, pruned.ExitCode);
        Assert.Single(pruned.StderrLines);

        // The kept checkpoint is still reachable after more changes.
        Assert.Equal(0, t.Sh("echo changed > big").ExitCode);
        CliResult back = t.Cli.Run("rollback", "4");
        Assert.True(back.ExitCode == 0, back.ToString());
        Assert.Equal(snapshot, Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(t.Path("big")))));
    }

    [Fact]
    public void PruneKeepZero_IsRefusedWithOneLine()
    {
        using var t = new TracedRun();
        Assert.Equal(0, t.Sh("true").ExitCode);
        CliResult r = t.Cli.Run("prune", "--keep", "0");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Single(r.StderrLines);
    }
}
