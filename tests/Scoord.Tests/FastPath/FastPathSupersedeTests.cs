using System.Globalization;
using System.Text.Json;
using Scoord.Tests.Support;

namespace Scoord.Tests.FastPath;

/// <summary>
/// A program rewriting one file through one fd: each write's post-state supersedes the one before (same
/// object, same name, same epoch, no name changed in between), so the journal keeps one. With the fast
/// path on, writes too large for a ring record go the ptrace way; the tracer counted each of them as a
/// name-changing operation for the hooks (the fd it reads the post-state through was handed on before it
/// asked), so none was superseded: 1,000 rewrites of 1 MiB kept 1,000 post-states (benchmark undo-rewrite,
/// 1.146 MiB of undo for 1 MiB of pre-image).
/// </summary>
public sealed class FastPathSupersedeTests
{
    private const int Mib = 1 << 20;

    [Fact]
    public void RewritesTooLargeForTheRing_KeepOnePostState_AndRollBackExactly()
    {
        using var f = new FastPathRun();
        byte[] original = new byte[Mib];
        new Random(7).NextBytes(original);
        File.WriteAllBytes(f.Path("region.dat"), original);
        CliResult ckpt = f.Run.Cli.Run("checkpoint", "--name", "c");
        Assert.True(ckpt.ExitCode == 0, ckpt.ToString());

        const string Code = """
            import os, sys
            fd = os.open(sys.argv[1], os.O_WRONLY)
            for i in range(40):
                os.pwrite(fd, bytes([i]) * (1024 * 1024), 0)
            os.close(fd)
            print('done')
            """;
        CliResult run = f.Traced("python3", "-c", Code, f.Path("region.dat"));
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("done", run.StdoutLines);
        Assert.Contains("fast path:", run.Stderr, StringComparison.Ordinal); // the fast path was on

        CliResult undo = f.Run.Cli.Run("log", "--undo");
        Assert.True(undo.ExitCode == 0, undo.ToString());
        int writes = undo.StdoutLines.Count(l => l.Contains(" pwrite64 ", StringComparison.Ordinal));
        int posts = undo.StdoutLines.Count(l => l.TrimStart().StartsWith("post ", StringComparison.Ordinal) && l.EndsWith("region.dat", StringComparison.Ordinal));
        Assert.Equal(40, writes);
        // The open's post-state and the last write's: every other write's was superseded.
        Assert.True(posts <= 2, $"{posts} post-states kept for 40 rewrites of one file through one fd:\n{undo.Stdout}");

        CliResult list = f.Run.Cli.Run("checkpoints", "--json");
        long undoBytes = JsonDocument.Parse(list.StdoutLines[0]).RootElement.GetProperty("undo_bytes").GetInt64();
        Assert.True(undoBytes < Mib + (16 * 1024), string.Create(CultureInfo.InvariantCulture, $"{undoBytes} undo bytes for a 1 MiB pre-image"));

        CliResult back = f.Run.Cli.Run("rollback", "c");
        Assert.True(back.ExitCode == 0, back.ToString());
        Assert.True(original.AsSpan().SequenceEqual(File.ReadAllBytes(f.Path("region.dat"))), "region.dat is not what it was at the checkpoint");
    }
}
