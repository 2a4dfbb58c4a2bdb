using System.Diagnostics;
using Scoord.Tests.Support;

namespace Scoord.Tests.Tracing;

/// <summary>kill -9 of scoord, and a second coordinator on the same journal.</summary>
public sealed class CrashTests
{
    private static Process StartScoord(TracedRun t, params string[] args) => ScoordProcess.Start(t.Journal, t.Tree.Path, args);

    private static void WaitFor(Func<bool> condition, string what)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), "timed out waiting for " + what);
            Thread.Sleep(50);
        }
    }

    [Fact]
    public void KillDashNineOfScoord_KillsTheApp_AndTheJournalReopensWithEveryOperationLetThrough()
    {
        using var t = new TracedRun();
        using Process scoord = StartScoord(t, "run", "--", "sh", "-c", "echo a > first.txt; echo b > second.txt; exec sleep 60");
        WaitFor(() => File.Exists(t.Path("second.txt")) && new FileInfo(t.Path("second.txt")).Length == 2, "the app's writes");
        Thread.Sleep(200);
        int sleepers = CountSleepers(t.Tree.Path);
        scoord.Kill();
        scoord.WaitForExit();
        // PTRACE_O_EXITKILL: the traced app dies with its tracer.
        WaitFor(() => CountSleepers(t.Tree.Path) < sleepers || sleepers == 0, "the app to die with scoord");

        IReadOnlyList<LogLine> log = t.Log();
        Assert.Contains(log, l => l.Op == "openat" && l.Path == t.Path("first.txt"));
        Assert.Contains(log, l => l.Op == "write" && l.Path == t.Path("second.txt") && l.Status is "completed" or "pending");
        CliResult status = t.Cli.Run("status");
        Assert.True(status.ExitCode == 0, status.ToString());
        // And a new coordinator can take the journal over (the lock died with the old one).
        CliResult again = t.Sh("echo c > third.txt");
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains(t.Log(), l => l.Op == "openat" && l.Path == t.Path("third.txt"));
    }

    private static int CountSleepers(string cwd)
    {
        int n = 0;
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                if (File.ReadAllText(Path.Combine(dir, "comm")).Trim() == "sleep"
                    && new DirectoryInfo(Path.Combine(dir, "cwd")).LinkTarget == cwd)
                {
                    n++;
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return n;
    }

    [Fact]
    public void SecondRunOnTheSameJournal_JoinsTheRunningGroup_WhileLogAndStatusWork()
    {
        using var t = new TracedRun();
        using Process first = StartScoord(t, "run", "--", "sh", "-c", "echo a > ready.txt; while [ ! -e done.txt ]; do sleep 0.05; done");
        WaitFor(() => File.Exists(t.Path("ready.txt")), "the first run");
        int coordinator = first.Id;
        CliResult second = t.Sh("echo b > b.txt; echo out; exit 3");
        Assert.Equal(3, second.ExitCode);
        Assert.Equal("out\n", second.Stdout);
        Assert.Equal("b\n", File.ReadAllText(t.Path("b.txt")));

        CliResult log = t.Cli.Run("log", "--json");
        Assert.True(log.ExitCode == 0, log.ToString());
        Assert.Contains(log.LogLines, l => l.Path == t.Path("ready.txt"));
        Assert.Contains(log.LogLines, l => l.Op == "openat" && l.Path == t.Path("b.txt"));
        CliResult status = t.Cli.Run("status");
        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.Contains($"running (pid {coordinator})", status.Stdout, StringComparison.Ordinal);
        File.WriteAllText(t.Path("done.txt"), "");
        first.WaitForExit();
        Assert.Equal(0, first.ExitCode);
    }
}
