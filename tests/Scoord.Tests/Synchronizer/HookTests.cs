using System.Diagnostics;
using Scoord.Tests.Support;
using Scoord.Tests.Tracing;

namespace Scoord.Tests.Synchronizer;

/// <summary>--on-checkpoint CMD: run inside the barrier with SCOORD_CHECKPOINT_ID and SCOORD_PIDS; non-zero fails the checkpoint.</summary>
public sealed class HookTests
{
    /// <summary>The app writes "a", waits for the file "go" (which the test creates), writes "b" and ends.</summary>
    private const string App = "echo $$ > app.pid; echo a > a; while [ ! -e go ]; do sleep 0.02; done; echo b > b";

    /// <summary>Lets the app end; kills scoord if it does not (without hiding an earlier failure).</summary>
    private static void Finish(TracedRun t, BackgroundScoord scoord)
    {
        File.WriteAllText(t.Path("go"), string.Empty);
        if (!scoord.WaitForExit(TimeSpan.FromSeconds(30)))
        {
            scoord.Kill();
        }
    }

    private static void AssertFinished(BackgroundScoord scoord) =>
        Assert.True(scoord.HasExited && scoord.ExitCode == 0, scoord.ToString());

    [Fact]
    public void Hook_SeesTheCheckpointIdAndThePids()
    {
        using var t = new TracedRun();
        using var outside = new TempTree("scoord-hook-");
        string hookOut = outside.Combine("hook.txt");
        using BackgroundScoord scoord = SyncSupport.Start(t, "-vv", "run", "--exclude", outside.Path,
            "--on-checkpoint", $"echo \"id=$SCOORD_CHECKPOINT_ID pids=$SCOORD_PIDS\" >> '{hookOut}'", "--", "sh", "-c", App);
        try
        {
            SyncSupport.WaitFor(() => File.Exists(t.Path("a")) && File.Exists(t.Path("app.pid")) && File.ReadAllText(t.Path("app.pid")).EndsWith('\n'), "the app to start");
            int appPid = int.Parse(File.ReadAllText(t.Path("app.pid")).Trim());
            CliResult c = t.Cli.Run("checkpoint", "--name", "hooked");
            Assert.True(c.ExitCode == 0, c + "\n" + scoord);
            Assert.Equal(["1"], c.StdoutLines);

            string[] lines = File.ReadAllLines(hookOut);
            string line = Assert.Single(lines);
            Assert.StartsWith("id=1 pids=", line, StringComparison.Ordinal);
            int[] pids = [.. line["id=1 pids=".Length..].Split([' ', ','], StringSplitOptions.RemoveEmptyEntries).Select(int.Parse)];
            Assert.Contains(appPid, pids);
        }
        finally
        {
            Finish(t, scoord);
        }

        AssertFinished(scoord);
        Assert.Equal("b\n", File.ReadAllText(t.Path("b")));
        Assert.Equal([(1, "hooked")], SyncSupport.Checkpoints(t).Select(c => (c.Id, c.Name)));
    }

    [Fact]
    public void AFailingHook_FailsTheCheckpoint_AndLeavesNoCheckpointRecord()
    {
        using var t = new TracedRun();
        using BackgroundScoord scoord = SyncSupport.Start(t, "-vv", "run", "--on-checkpoint", "exit 3", "--", "sh", "-c", App);
        CliResult c;
        try
        {
            SyncSupport.WaitFor(() => File.Exists(t.Path("a")), "the app to start");
            c = t.Cli.Run("checkpoint", "--name", "doomed");
        }
        finally
        {
            Finish(t, scoord);
        }

        Assert.True(c.ExitCode != 0, c + "\n" + scoord);
        Assert.Empty(c.Stdout);
        Assert.StartsWith("scoord: ", Assert.Single(c.StderrLines), StringComparison.Ordinal);
        AssertFinished(scoord);
        Assert.Empty(SyncSupport.Checkpoints(t));
        Assert.DoesNotContain(t.Log(), l => l.Op == "checkpoint");
    }
}
