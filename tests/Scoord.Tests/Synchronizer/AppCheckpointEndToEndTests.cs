using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Scoord.Tests.Support;
using Scoord.Tests.Tracing;
using Xunit.Abstractions;

namespace Scoord.Tests.Synchronizer;

/// <summary>
/// The synchronizer end to end with an application that checkpoints itself: a python program computes in
/// steps, appends every step's result to results.csv and a line to run.log, and every N steps writes its
/// restart file state.json (temp name + rename). It resumes from state.json and never truncates its
/// outputs, so after a crash only scoord's rollback to the rollback point taken at the rename makes the
/// outputs agree with the state. kill -9 at random points, `scoord restore` the newest checkpoint, let it
/// finish: results.csv and run.log are byte-identical to an uninterrupted run's.
/// </summary>
public sealed class AppCheckpointEndToEndTests
{
    internal const string Program = """
        import json, os, signal, sys, time

        total, every, pause = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
        with open("app.pid", "w") as f:
            f.write("%d\n" % os.getpid())

        def save(step, acc):
            with open("state.json.tmp", "w") as f:
                json.dump({"step": step, "acc": acc}, f)
            os.rename("state.json.tmp", "state.json")

        requested = False
        def on_usr1(signum, frame):
            global requested
            requested = True
        signal.signal(signal.SIGUSR1, on_usr1)

        step, acc = 0, 1
        if os.path.exists("state.json"):
            with open("state.json") as f:
                state = json.load(f)
            step, acc = state["step"], state["acc"]
            print("resumed at step %d" % step, flush=True)

        new_csv = not os.path.exists("results.csv")
        csv = open("results.csv", "a")
        if new_csv:
            csv.write("step,value\n")
            csv.flush()
        while step < total:
            step += 1
            acc = (acc * 6364136223846793005 + step * step + 1442695040888963407) % (1 << 61)
            csv.write("%d,%d\n" % (step, acc))
            csv.flush()
            with open("run.log", "a") as log:
                log.write("step %d done, value %x\n" % (step, acc))
            if step % every == 0 or requested:
                requested = False
                save(step, acc)
            time.sleep(pause)
        csv.close()
        print("finished at step %d" % step, flush=True)
        """;

    private const int Total = 150;
    private const int Every = 10;
    private const string Pause = "0.01";

    private readonly ITestOutputHelper _output;

    public AppCheckpointEndToEndTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public void KillDashNine_ThenRestoreTheNewestCheckpoint_GivesTheOutputsOfAnUninterruptedRun()
    {
        var total = Stopwatch.StartNew();
        (string csv, string log) = ReferenceRun();
        int seed = Environment.TickCount;
        var random = new Random(seed);
        _output.WriteLine($"seed {seed}");

        for (int round = 0; round < 3; round++)
        {
            // Kill after 3..11 of the 15 restart files, somewhere in the next interval between them.
            int afterStep = random.Next(3, 12) * Every;
            int delayMs = random.Next(0, 120);
            string where = $"round {round} (seed {seed}): kill after step {afterStep} + {delayMs} ms";
            _output.WriteLine(where);

            using var t = new TracedRun();
            File.WriteAllText(t.Path("prog.py"), Program);
            using (BackgroundScoord scoord = SyncSupport.Start(t, "run", "--app-checkpoint", "**/state.json", "--",
                SyncSupport.Python, "-B", "prog.py", Total.ToString(CultureInfo.InvariantCulture), Every.ToString(CultureInfo.InvariantCulture), Pause))
            {
                SyncSupport.WaitFor(() => StateStep(t) >= afterStep || scoord.HasExited, where + ": the app to get there");
                Thread.Sleep(delayMs);
                Assert.False(scoord.HasExited, where + ": scoord ended before the kill\n" + scoord);
                int appPid = int.Parse(File.ReadAllText(t.Path("app.pid")).Trim(), CultureInfo.InvariantCulture);
                scoord.Kill();
                SyncSupport.WaitFor(() => SyncSupport.IsDead(appPid), where + ": the app to die with scoord");
            }

            List<(int Id, string Name, ulong Seq)> checkpoints = SyncSupport.Checkpoints(t);
            Assert.True(checkpoints.Count >= 3, $"{where}: {checkpoints.Count} checkpoint(s) taken, expected one per restart file");
            int newest = checkpoints[^1].Id;
            _output.WriteLine($"{where}: {checkpoints.Count} checkpoints, newest {newest} ({checkpoints[^1].Name}); csv had {File.ReadAllLines(t.Path("results.csv")).Length} lines");

            CliResult restore = t.Cli.Run("restore", newest.ToString(CultureInfo.InvariantCulture));
            Assert.True(restore.ExitCode == 0, where + "\n" + restore);
            Assert.Matches(@"^resumed at step [1-9][0-9]*0\nfinished at step 150\n$", restore.Stdout);

            Assert.True(csv == File.ReadAllText(t.Path("results.csv")), $"{where}: results.csv differs from the uninterrupted run's\n{Diff(csv, File.ReadAllText(t.Path("results.csv")))}");
            Assert.True(log == File.ReadAllText(t.Path("run.log")), $"{where}: run.log differs from the uninterrupted run's\n{Diff(log, File.ReadAllText(t.Path("run.log")))}");
        }

        _output.WriteLine($"took {total.Elapsed.TotalSeconds:0.0}s");
    }

    /// <summary>The program without scoord, never interrupted.</summary>
    private static (string Csv, string Log) ReferenceRun()
    {
        using var tree = new TempTree("scoord-reference-");
        File.WriteAllText(tree.Combine("prog.py"), Program);
        var psi = new ProcessStartInfo(SyncSupport.Python) { WorkingDirectory = tree.Path, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string a in new[] { "-B", "prog.py", Total.ToString(CultureInfo.InvariantCulture), Every.ToString(CultureInfo.InvariantCulture), "0" })
        {
            psi.ArgumentList.Add(a);
        }

        using Process p = Process.Start(psi)!;
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, stdout);
        string csv = File.ReadAllText(tree.Combine("results.csv"));
        Assert.Equal(Total + 1, csv.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        return (csv, File.ReadAllText(tree.Combine("run.log")));
    }

    /// <summary>The step of the app's last restart file, 0 while there is none (or it cannot be read).</summary>
    private static int StateStep(TracedRun t)
    {
        try
        {
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(t.Path("state.json")));
            return doc.RootElement.GetProperty("step").GetInt32();
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    private static string Diff(string expected, string actual)
    {
        string[] e = expected.Split('\n');
        string[] a = actual.Split('\n');
        for (int i = 0; i < Math.Max(e.Length, a.Length); i++)
        {
            string el = i < e.Length ? e[i] : "(end)";
            string al = i < a.Length ? a[i] : "(end)";
            if (el != al)
            {
                return $"first difference at line {i + 1}: expected '{el}', got '{al}' ({e.Length} vs {a.Length} lines)";
            }
        }

        return "(no line differs)";
    }
}
