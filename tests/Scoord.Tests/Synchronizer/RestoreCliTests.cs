using System.Diagnostics;
using Scoord.Journal;
using Scoord.Tests.Support;
using Scoord.Tests.Tracing;

namespace Scoord.Tests.Synchronizer;

/// <summary>`scoord run` keeps a run record; `scoord restore CKPT [-- COMMAND]` rolls back and relaunches.</summary>
public sealed class RestoreCliTests
{
    [Fact]
    public void Run_StoresARunRecord_WithCommandCwdEnvironmentOptionsAndExitStatus()
    {
        using var t = new TracedRun();
        t.Cli.Environment["SYNC_TEST_VAR"] = "v1";
        CliResult r = t.Cli.Run("run", "--app-checkpoint", "state/*.json", "--exclude", "out", "--on-checkpoint", "true", "--", "sh", "-c", "exit 5");
        Assert.True(r.ExitCode == 5, r.ToString());

        using JournalStore ro = JournalStore.OpenReadOnly(t.Journal);
        RunRecord run = Assert.Single(ro.ReadRunRecords());
        Assert.Equal(1UL, run.Id);
        Assert.Equal(0UL, run.StartSeq);
        Assert.Equal(["sh", "-c", "exit 5"], run.Argv);
        Assert.Equal(t.Tree.Path, run.Cwd);
        Assert.Equal("v1", run.Environment["SYNC_TEST_VAR"]);
        Assert.Equal([t.Path("state/*.json")], run.OptionValues("app-checkpoint"));
        Assert.Equal([t.Path("out")], run.OptionValues("exclude"));
        Assert.Equal("true", run.Option("on-checkpoint"));
        Assert.Equal("app", run.Option("memory"));
        Assert.Equal(5, run.ExitStatus);
        Assert.NotNull(run.EndTimeNs);
    }

    [Fact]
    public void Restore_WithoutCommand_RelaunchesTheRecordedCommandLine_InItsCwdAndEnvironment()
    {
        using var t = new TracedRun();
        t.Cli.Environment["SYNC_TEST_VAR"] = "hello";
        Assert.Equal(0, t.Sh("echo \"$SYNC_TEST_VAR $(pwd)\" >> out.txt; echo extra > extra.txt").ExitCode);
        // A checkpoint with nothing running, then a change after it that the restore must undo.
        Assert.Equal(["1"], t.Cli.Run("checkpoint").StdoutLines);
        Assert.Equal(0, t.Sh("echo later >> out.txt; rm extra.txt").ExitCode);

        // Restored from elsewhere, without the variable: the recorded cwd and environment are used.
        using var elsewhere = new TempTree();
        var cli = new ScoordCli(t.Journal, elsewhere.Path) { Timeout = TimeSpan.FromSeconds(60) };
        CliResult r = cli.Run("restore", "1");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal($"hello {t.Tree.Path}\nhello {t.Tree.Path}\n", File.ReadAllText(t.Path("out.txt")));
        Assert.Equal("extra\n", File.ReadAllText(t.Path("extra.txt")));
        Assert.False(File.Exists(elsewhere.Combine("out.txt")));

        // The relaunch is a run of its own, with a record saying where it came from.
        using JournalStore ro = JournalStore.OpenReadOnly(t.Journal);
        IReadOnlyList<RunRecord> runs = ro.ReadRunRecords();
        Assert.Equal(3, runs.Count);
        Assert.Equal(1, runs[2].RestoredFrom);
        Assert.Equal(runs[0].Argv, runs[2].Argv);
        Assert.Equal(0, runs[2].ExitStatus);
    }

    [Fact]
    public void Restore_WithAnExplicitCommand_RunsItAfterTheRollback_AndReturnsItsStatus()
    {
        using var t = new TracedRun();
        Assert.Equal(0, t.Sh("echo one > f").ExitCode);
        Assert.Equal(["1"], t.Cli.Run("checkpoint", "--name", "first").StdoutLines);
        Assert.Equal(0, t.Sh("echo two > f; echo x > g").ExitCode);

        CliResult r = t.Cli.Run("restore", "first", "--", "sh", "-c", "cat f; test -e g && echo g-exists; echo \"$SCOORD_JOURNAL\"; echo new > h; exit 7");
        Assert.True(r.ExitCode == 7, r.ToString());
        Assert.Equal(["one", t.Journal], r.StdoutLines);
        Assert.Equal(string.Empty, r.Stderr);
        Assert.Equal("one\n", File.ReadAllText(t.Path("f")));
        Assert.False(File.Exists(t.Path("g")));

        // The relaunched command ran under scoord: its changes are journaled too.
        Assert.Contains(t.Log(), l => l.Path == t.Path("h") && l.Op is "openat" or "open" or "creat");
    }

    [Fact]
    public void Restore_IsRefused_WhileACoordinatorRuns()
    {
        using var t = new TracedRun();
        Assert.Equal(0, t.Sh("echo one > f").ExitCode);
        Assert.Equal(["1"], t.Cli.Run("checkpoint").StdoutLines);
        using BackgroundScoord scoord = SyncSupport.Start(t, "run", "--", "sh", "-c", "echo two > f; sleep 30");
        try
        {
            SyncSupport.WaitFor(() => File.ReadAllText(t.Path("f")) == "two\n", "the app's write");
            CliResult r = t.Cli.Run("restore", "1", "--", "sh", "-c", "echo relaunched > marker");
            Assert.Equal(1, r.ExitCode);
            string line = Assert.Single(r.StderrLines);
            Assert.StartsWith("scoord: journal ", line, StringComparison.Ordinal);
            Assert.Contains("in use by a running scoord", line, StringComparison.Ordinal);
            Assert.Equal("two\n", File.ReadAllText(t.Path("f")));
            Assert.False(File.Exists(t.Path("marker")));
        }
        finally
        {
            scoord.Kill();
        }
    }

    [Fact]
    public void Restore_WithConflicts_Exits3_WithoutRelaunching_UnlessForced()
    {
        using var t = new TracedRun();
        Assert.Equal(0, t.Sh("echo one > f").ExitCode);
        Assert.Equal(["1"], t.Cli.Run("checkpoint").StdoutLines);
        Assert.Equal(0, t.Sh("echo two > f").ExitCode);
        File.WriteAllText(t.Path("f"), "changed outside\n");

        CliResult r = t.Cli.Run("restore", "1", "--", "sh", "-c", "echo relaunched > marker");
        Assert.True(r.ExitCode == 3, r.ToString());
        Assert.Contains(r.StderrLines, l => l.StartsWith("scoord: conflict: ", StringComparison.Ordinal));
        Assert.Contains("the app was not restarted", r.StderrLines[^1], StringComparison.Ordinal);
        Assert.False(File.Exists(t.Path("marker")));
        Assert.Equal("changed outside\n", File.ReadAllText(t.Path("f")));

        CliResult forced = t.Cli.Run("restore", "--force", "1", "--", "sh", "-c", "echo relaunched > marker");
        Assert.True(forced.ExitCode == 0, forced.ToString());
        Assert.Equal("one\n", File.ReadAllText(t.Path("f")));
        Assert.Equal("relaunched\n", File.ReadAllText(t.Path("marker")));
    }

    [Fact]
    public void Restore_BadInput_IsOneLine()
    {
        using var t = new TracedRun();
        CliResult noJournal = t.Cli.Run("restore", "1");
        Assert.Equal(1, noJournal.ExitCode);
        Assert.StartsWith("scoord: no journal at ", Assert.Single(noJournal.StderrLines), StringComparison.Ordinal);

        Assert.Equal(0, t.Sh("true").ExitCode);
        CliResult unknown = t.Cli.Run("restore", "nope");
        Assert.Equal(1, unknown.ExitCode);
        Assert.StartsWith("scoord: no checkpoint 'nope'", Assert.Single(unknown.StderrLines), StringComparison.Ordinal);
    }

    [Fact]
    public void Restore_OfACheckpointBeforeAnyRun_NeedsACommand()
    {
        using var t = new TracedRun();
        using (JournalStore.OpenForWriting(t.Journal))
        {
        }

        Assert.Equal(["1"], t.Cli.Run("checkpoint").StdoutLines);
        CliResult r = t.Cli.Run("restore", "1");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("no run of the journal began before checkpoint 1", Assert.Single(r.StderrLines), StringComparison.Ordinal);

        CliResult withCommand = t.Cli.Run("restore", "1", "--", "sh", "-c", "echo ok");
        Assert.True(withCommand.ExitCode == 0, withCommand.ToString());
        Assert.Equal(["ok"], withCommand.StdoutLines);
    }

    [Fact]
    public void Run_SynchronizerOptions_BadValues_AreUsageErrors()
    {
        using var t = new TracedRun();
        foreach (string[] args in new[]
        {
            new[] { "run", "--checkpoint-signal", "USR1", "--app-checkpoint", "s.json", "--", "true" },
            ["run", "--checkpoint-every", "1s", "--checkpoint-signal", "USR1", "--", "true"],
            ["run", "--checkpoint-every", "1s", "--checkpoint-signal", "KILL", "--app-checkpoint", "s.json", "--", "true"],
            ["run", "--memory", "dmtcp", "--", "true"],
            ["run", "--memory", "app", "--", "true"],
            ["run", "--checkpoint-timeout", "5s", "--", "true"],
        })
        {
            CliResult r = t.Cli.Run(args);
            Assert.True(r.ExitCode == 2, string.Join(' ', args) + "\n" + r);
            Assert.StartsWith("scoord: ", Assert.Single(r.StderrLines), StringComparison.Ordinal);
        }

        Assert.False(Directory.Exists(t.Journal));
    }
}
