using System.Diagnostics;
using Scoord.Tests.Rollback;
using Scoord.Tests.Support;
using Scoord.Tests.Tracing;

namespace Scoord.Tests.Reliability;

/// <summary>Helpers of the reliability tests: a tree with a checkpoint, scoord started in the background, waiting.</summary>
internal static class FaultSupport
{
    /// <summary>Files, a directory, a symlink and a 4 KiB+ file, then checkpoint 1.</summary>
    public const string Setup =
        "mkdir d; echo one > d/a; echo two > d/b; seq 1 3000 > d/big; ln -s a d/l; mkdir d/sub; echo three > d/sub/s; chmod 640 d/sub/s";

    /// <summary>Every kind of change (append, create, remove, rename, mkdir, chmod, overwrite), then `done`.</summary>
    public const string Changes =
        "echo x >> d/a; echo new > d/c; rm d/b; mv d/big d/big2; mkdir d/e; echo y > d/e/f; chmod 600 d/a; rm -r d/sub; echo over > d/big2; touch done";

    /// <summary>
    /// <see cref="Changes"/> with a pause after each command: the fast path's drain commits each command's
    /// records on its own even on a loaded machine (where it would otherwise take several commands in one
    /// batch), so a fault point counted in drain batches is reached before the last command.
    /// </summary>
    public static string ChangesSpaced => Changes.Replace("; ", "; sleep 0.2; ", StringComparison.Ordinal);

    /// <summary>Runs the setup under scoord, takes checkpoint 1 and returns the tree as it is then.</summary>
    public static TreeSnapshot SetUpAndCheckpoint(TracedRun t)
    {
        CliResult setup = t.Sh(Setup);
        Assert.True(setup.ExitCode == 0, setup.ToString());
        CliResult ckpt = t.Cli.Run("checkpoint");
        Assert.True(ckpt.ExitCode == 0, ckpt.ToString());
        return TreeSnapshot.Take(t.Tree.Path);
    }

    /// <summary>`scoord ARGS` in the background (journal and tree of <paramref name="t"/>), with an optional fault armed.</summary>
    public static Process Start(TracedRun t, string? fault, params string[] args) => Start(t, fault, fastPath: false, args);

    /// <summary>As the other overload; with <paramref name="fastPath"/> the fast path is on whatever the environment says.</summary>
    public static Process Start(TracedRun t, string? fault, bool fastPath, string[] args)
    {
        ProcessStartInfo psi = ScoordProcess.StartInfo(t.Journal, t.Tree.Path, args);
        psi.Environment.Remove("SCOORD_FAULT");
        if (fastPath)
        {
            psi.Environment.Remove("SCOORD_NO_FASTPATH");
            psi.Environment["SCOORD_FASTPATH"] = "1";
        }

        if (fault is not null)
        {
            psi.Environment["SCOORD_FAULT"] = fault;
        }

        return Process.Start(psi)!;
    }

    /// <summary>Kills (SIGKILL, its traced app dies with it) a background scoord still running when the test ends, failed or not.</summary>
    public static IDisposable KillAtEnd(Process p) => new Killer(p);

    private sealed class Killer(Process p) : IDisposable
    {
        public void Dispose()
        {
            try
            {
                if (!p.HasExited)
                {
                    p.Kill();
                    p.WaitForExit(10_000);
                }
            }
            catch (InvalidOperationException)
            {
            }
        }
    }

    public static void WaitFor(Func<bool> condition, string what, int seconds = 60)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(seconds), "timed out waiting for " + what);
            Thread.Sleep(20);
        }
    }

    /// <summary>Processes (other than this one) whose working directory is <paramref name="cwd"/>.</summary>
    public static List<string> ProcessesIn(string cwd)
    {
        var found = new List<string>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            string name = Path.GetFileName(dir);
            if (!int.TryParse(name, out int pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            try
            {
                if (new DirectoryInfo(Path.Combine(dir, "cwd")).LinkTarget == cwd)
                {
                    found.Add(pid + " " + File.ReadAllText(Path.Combine(dir, "comm")).Trim());
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return found;
    }

    /// <summary>No process of the app survives (it must die with scoord, never run on untraced).</summary>
    public static void AssertAppGone(TracedRun t)
    {
        var sw = Stopwatch.StartNew();
        List<string> left;
        while ((left = ProcessesIn(t.Tree.Path)).Count > 0 && sw.Elapsed < TimeSpan.FromSeconds(10))
        {
            Thread.Sleep(50);
        }

        Assert.True(left.Count == 0, "processes of the app survived scoord: " + string.Join(", ", left));
    }

    /// <summary>The journal reopens: `log` and `status` work, and a new run takes the lock over.</summary>
    public static IReadOnlyList<LogLine> AssertJournalReopens(TracedRun t)
    {
        IReadOnlyList<LogLine> log = t.Log();
        CliResult status = t.Cli.Run("status");
        Assert.True(status.ExitCode == 0, status.ToString());
        return log;
    }

    /// <summary>Rollback to checkpoint 1 gives exactly <paramref name="atCheckpoint"/>, and again (idempotent).</summary>
    public static void AssertRollbackRestores(TracedRun t, TreeSnapshot atCheckpoint, string checkpoint = "1")
    {
        CliResult rb = t.Cli.Run("rollback", checkpoint);
        Assert.True(rb.ExitCode == 0, rb.ToString());
        atCheckpoint.AssertEqual(TreeSnapshot.Take(t.Tree.Path));
        CliResult again = t.Cli.Run("rollback", checkpoint);
        Assert.True(again.ExitCode == 0, again.ToString());
        atCheckpoint.AssertEqual(TreeSnapshot.Take(t.Tree.Path));
    }
}
