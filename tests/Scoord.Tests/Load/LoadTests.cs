using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Scoord.Tests.Support;
using Scoord.Tests.Tracing;

namespace Scoord.Tests.Load;

/// <summary>
/// Issue 6, item 5: 50 processes × 8 threads mutating files concurrently under scoord for a bounded
/// time. Every operation appears once in the journal, in each thread's program order, and rollback to a
/// checkpoint taken before the run, and to one taken from outside during it, restores the tree exactly.
/// </summary>
public sealed partial class LoadTests
{
    private const int Processes = 50;
    private const int Threads = 8;
    private const double Seconds = 5;
    private const int MaxIterations = 16; // about 11,000 journaled operations: two rollbacks of them stay within CI's time

    [Fact]
    public async Task FiftyProcessesOfEightThreads_JournalEveryOpOnceInProgramOrder_AndRollBackExactly()
    {
        var total = Stopwatch.StartNew();
        using var t = new TracedRun();
        using var snaps = new TempTree("scoord-load-snap-");
        string exe = TracedRun.Compile(t.JournalTree, "load", LoadProgram.Source, "-O2", "-pthread");
        string snapshot = snaps.WriteFile("snapshot.sh", LoadProgram.SnapshotScript);

        // Content that existed before: logs of some threads get appended to and truncated.
        CliResult setup = t.Sh("mkdir shared && for p in 0 1 2 3 4; do for th in 0 1 2 3 4 5 6 7; do mkdir t${p}_$th && seq 1 200 > t${p}_$th/log; done; done && echo keep > shared/keep");
        Assert.True(setup.ExitCode == 0, setup.ToString());
        string before = Snapshot(snapshot, t.Tree.Path);
        Assert.Equal(0, t.Cli.Run("checkpoint", "--name", "before").ExitCode);

        // The hook runs inside the checkpoint barrier (every tracee stopped): the tree as it is at the checkpoint.
        string hook = $"sh '{snapshot}' '{t.Tree.Path}' > '{snaps.Path}'/ckpt-$SCOORD_CHECKPOINT_ID";
        Task<CliResult> run = Task.Run(() => t.Cli.Run("run", "--on-checkpoint", hook, "--",
            exe, Processes.ToString(CultureInfo.InvariantCulture), Threads.ToString(CultureInfo.InvariantCulture),
            Seconds.ToString(CultureInfo.InvariantCulture), MaxIterations.ToString(CultureInfo.InvariantCulture)));
        // A checkpoint from outside while the threads are at work: once a good part of them have renamed files.
        var wait = Stopwatch.StartNew();
        while (wait.Elapsed < TimeSpan.FromSeconds(20) && !run.IsCompleted
            && (!Directory.Exists(t.Path("shared")) || Directory.GetFiles(t.Path("shared")).Length < 250))
        {
            await Task.Delay(20);
        }

        Assert.False(run.IsCompleted, "the load finished before the checkpoint during it");
        CliResult during = t.Cli.Run("checkpoint", "--name", "during");
        Assert.True(during.ExitCode == 0, during.ToString());
        string duringId = during.Stdout.Trim();
        CliResult result = await run;
        TimeSpan runTime = total.Elapsed;
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.True(File.Exists(snaps.Combine("ckpt-" + duringId)), "the hook did not run for checkpoint " + duringId);

        // What each thread says it did (its successful calls), against the journal.
        string[] reports = result.StdoutLines;
        Assert.Equal(Processes * Threads, reports.Length);
        IReadOnlyList<LogLine> log = t.Log();
        string tree = t.Tree.Path + "/";
        Assert.Equal(log.Count, log.Select(l => l.Seq).Distinct().Count());
        // The load run's operations: after checkpoint "before" (the setup run's come before it).
        var byTid = log.Where(l => l.Checkpoint is not null && l.Path is not null && l.Path.StartsWith(tree, StringComparison.Ordinal))
            .GroupBy(l => l.Tid ?? l.Pid).ToDictionary(g => g.Key, g => g.OrderBy(l => l.Seq).ToList());
        long ops = 0;
        foreach (string report in reports)
        {
            long[] f = report.Split(' ').Select(x => long.Parse(x, CultureInfo.InvariantCulture)).ToArray();
            int tid = (int)f[0];
            Assert.True(byTid.TryGetValue(tid, out List<LogLine>? all), $"no journaled operation of thread {tid}");
            // Its mkdir of its own directory (EEXIST for the directories made before the run) is not counted.
            Assert.Single(all, l => l.Op == "mkdir");
            List<LogLine> mine = all.Where(l => l.Op != "mkdir").ToList();
            Assert.DoesNotContain(mine, l => l.Status != "completed");
            long[] journaled =
            [
                tid, mine.Count(l => l.Op is "open" or "openat"), mine.Count(l => l.Op == "write"), mine.Count(l => l.Op is "rename" or "renameat" or "renameat2"),
                mine.Count(l => l.Op is "unlink" or "unlinkat"), mine.Count(l => l.Op == "truncate"),
            ];
            Assert.True(f.SequenceEqual(journaled) && journaled[1..].Sum() == mine.Count,
                $"thread reports {report}, journal has {string.Join(' ', journaled)} of {mine.Count}:\n" + string.Join('\n', mine.Select(l => l.Raw)));
            ops += all.Count;

            // Program order: the iteration number each path carries rises strictly along journal order.
            int last = -1;
            foreach (LogLine l in mine)
            {
                int s = IterationOf(l);
                if (s < 0)
                {
                    continue;
                }

                Assert.True(s > last || (s == last && l.Op == "write"), $"thread {tid}: iteration {s} journaled after {last} ({l.Raw})");
                last = s;
            }
        }

        // Besides the threads' operations, only the main program's mkdir of shared/ (EEXIST).
        var reported = reports.Select(r => int.Parse(r.Split(' ')[0], CultureInfo.InvariantCulture)).ToHashSet();
        LogLine[] others = [.. byTid.Where(kv => !reported.Contains(kv.Key)).SelectMany(kv => kv.Value)];
        Assert.True(others.Length == 1 && others[0].Op == "mkdir" && others[0].Path == t.Path("shared"), string.Join('\n', others.Select(l => l.Raw)));
        Assert.True(ops > 2_000, $"only {ops} operations: not a load");

        // Rollback to the checkpoint taken during the run, then to the one before it: exact trees.
        TimeSpan checkedAt = total.Elapsed;
        CliResult back = t.Cli.Run("rollback", "during");
        Assert.True(back.ExitCode == 0, back.ToString());
        Assert.Equal(File.ReadAllText(snaps.Combine("ckpt-" + duringId)), Snapshot(snapshot, t.Tree.Path));
        back = t.Cli.Run("rollback", "before");
        Assert.True(back.ExitCode == 0, back.ToString());
        Assert.Equal(before, Snapshot(snapshot, t.Tree.Path));
        Console.WriteLine($"load: {reports.Length} threads, {ops} journaled operations; setup and run {runTime.TotalSeconds:F1} s, "
            + $"journal checked at {checkedAt.TotalSeconds:F1} s, two rollbacks done at {total.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>The iteration s a journaled path names: own/f&lt;s&gt; (create), own/f&lt;s-2&gt; (rename), shared/p_P_T_&lt;s-3&gt; (unlink).</summary>
    private static int IterationOf(LogLine l)
    {
        Match m = FileName().Match(l.Path!);
        if (m.Success && l.Op is "open" or "openat" or "write")
        {
            return int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        }

        if (m.Success && l.Op is "rename" or "renameat" or "renameat2")
        {
            return int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) + 2;
        }

        Match u = SharedName().Match(l.Path!);
        return u.Success && l.Op is "unlink" or "unlinkat" ? int.Parse(u.Groups[1].Value, CultureInfo.InvariantCulture) + 3 : -1;
    }

    private static string Snapshot(string script, string tree)
    {
        (int exit, string output) = Security.JournalProtectionTests.Exec("sh", script, tree);
        Assert.True(exit == 0, output);
        return output;
    }

    [GeneratedRegex(@"/t\d+_\d+/f(\d+)$")]
    private static partial Regex FileName();

    [GeneratedRegex(@"/shared/p\d+_\d+_(\d+)$")]
    private static partial Regex SharedName();
}
