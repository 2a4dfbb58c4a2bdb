using System.Globalization;
using Scoord.Tests.Support;
using Scoord.Tests.Tracing;

namespace Scoord.Tests.Synchronizer;

/// <summary>--checkpoint-signal SIG: scoord asks the app to checkpoint itself every --checkpoint-every.</summary>
public sealed class CheckpointSignalTests
{
    [Fact]
    public void TheApp_AnswersTheSignal_WithItsCheckpointFile_WhichBecomesARollbackPoint()
    {
        using var t = new TracedRun();
        File.WriteAllText(t.Path("prog.py"), AppCheckpointEndToEndTests.Program);
        // 200 steps of 10 ms; the app saves on its own only every 1000 steps (never), so every
        // checkpoint file is an answer to SIGUSR1.
        CliResult r = t.Cli.Run("run", "--checkpoint-every", "500ms", "--checkpoint-signal", "USR1", "--app-checkpoint", "state.json",
            "--", SyncSupport.Python, "-B", "prog.py", "200", "1000", "0.01");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(string.Empty, r.Stderr);
        List<(int Id, string Name, ulong Seq)> checkpoints = SyncSupport.Checkpoints(t);
        Assert.True(checkpoints.Count >= 2, $"{checkpoints.Count} checkpoint(s)\n{r}");
        Assert.DoesNotContain(checkpoints, c => c.Name.StartsWith("auto-", StringComparison.Ordinal));
    }

    [Fact]
    public void AnAppThatDoesNotAnswer_GetsOneWarningLinePerRequest()
    {
        using var t = new TracedRun();
        CliResult r = t.Cli.Run("run", "--checkpoint-every", "400ms", "--checkpoint-signal", "SIGUSR2", "--checkpoint-timeout", "300ms",
            "--app-checkpoint", "state.json", "--", SyncSupport.Python, "-c",
            "import signal, time; signal.signal(signal.SIGUSR2, signal.SIG_IGN); time.sleep(2)");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.NotEmpty(r.StderrLines);
        Assert.All(r.StderrLines, l => Assert.Equal("scoord: the app wrote no checkpoint file within 300ms of SIGUSR2", l));
        Assert.Empty(SyncSupport.Checkpoints(t));
    }

    [Fact]
    public void TheRunRecord_KeepsTheSignalOptions()
    {
        using var t = new TracedRun();
        Assert.Equal(0, t.Cli.Run("run", "--checkpoint-every", "1h", "--checkpoint-signal", "usr1", "--checkpoint-timeout", "5s",
            "--app-checkpoint", "s.json", "--", "true").ExitCode);
        using Scoord.Journal.JournalStore ro = Scoord.Journal.JournalStore.OpenReadOnly(t.Journal);
        Scoord.Journal.RunRecord run = Assert.Single(Scoord.Journal.RunRecords.ReadRunRecords(ro));
        Assert.Equal("10", run.Option("checkpoint-signal"));
        Assert.Equal("5000ms", run.Option("checkpoint-timeout"));
        Assert.Equal((3_600_000).ToString(CultureInfo.InvariantCulture) + "ms", run.Option("checkpoint-every"));
        Assert.Equal([t.Path("s.json")], run.OptionValues("app-checkpoint"));
    }
}
