using System.Globalization;
using System.Text.RegularExpressions;
using Scoord.Tests.Support;
using Scoord.Tests.Synchronizer;
using Scoord.Tests.Tracing;

namespace Scoord.Tests.Checkpoints;

/// <summary>
/// What a checkpoint barrier stops (only the threads in a journaled call, unless something needs the whole tree
/// still), and the priority of what scoord starts: its doorbell above the tree, the program and the hook at scoord's own.
/// </summary>
public sealed partial class BarrierScopeTests
{
    /// <summary>A python3 thread that spins without a syscall until the file "go" appears (polled every 2^22 turns).</summary>
    private const string Spinner = """
        import os, mmap, sys
        if len(sys.argv) > 1:
            f = open("mapped", "w+b"); f.write(b"\0" * 4096); f.flush()
            m = mmap.mmap(f.fileno(), 4096, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
            m[0:2] = b"hi"
        open("ready", "w").close()
        i = 0
        while True:
            i += 1
            if i & 0x3fffff == 0 and os.path.exists("go"):
                break
        """;

    [GeneratedRegex(@"taken with (\d+) of (\d+) threads stopped")]
    private static partial Regex TakenWith();

    private static (int Held, int Threads) RunSpinnerAndCheckpoint(bool sharedMapping)
    {
        using var t = new TracedRun();
        File.WriteAllText(t.Path("spin.py"), Spinner);
        string[] args = sharedMapping ? ["python3", "spin.py", "map"] : ["python3", "spin.py"];
        using BackgroundScoord scoord = SyncSupport.Start(t, ["-vv", "run", "--", .. args]);
        try
        {
            SyncSupport.WaitFor(() => File.Exists(t.Path("ready")), "the spinner to start");
            CliResult c = t.Cli.Run("checkpoint", "--name", "spinning");
            Assert.True(c.ExitCode == 0, c + "\n" + scoord);
        }
        finally
        {
            LetItEnd(t, scoord);
        }

        Assert.True(scoord.HasExited && scoord.ExitCode == 0, scoord.ToString());
        Match m = TakenWith().Match(scoord.Stderr);
        Assert.True(m.Success, "no checkpoint log line:\n" + scoord);
        return (int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
    }

    [Fact]
    public void AThreadBetweenCalls_IsNotStoppedByACheckpoint()
    {
        (int held, int threads) = RunSpinnerAndCheckpoint(sharedMapping: false);
        Assert.True(threads >= 1, $"{held} of {threads}");
        Assert.Equal(0, held); // the spinner makes no call: nothing the checkpoint could miss
    }

    [Fact]
    public void WithAWritableSharedMapping_ACheckpointStopsEveryThread()
    {
        (int held, int threads) = RunSpinnerAndCheckpoint(sharedMapping: true);
        Assert.True(threads >= 1, $"{held} of {threads}");
        Assert.Equal(threads, held); // its memory writes change the file without a call
    }

    [Fact]
    public void TheProgramAndTheHook_StartAtScoordsNice_TheDoorbellRunsAbove()
    {
        int own = NiceOf(Environment.ProcessId, ThreadId()); // what the tree should get: scoord starts at the test's value
        using var t = new TracedRun();
        const string App = "nice > app.nice; echo $PPID > scoord.pid; while [ ! -e go ]; do sleep 0.02; done";
        using BackgroundScoord scoord = SyncSupport.Start(t, "run", "--on-checkpoint", "nice > hook.nice", "--", "sh", "-c", App);
        int doorbell;
        try
        {
            SyncSupport.WaitFor(() => File.Exists(t.Path("scoord.pid")) && File.ReadAllText(t.Path("scoord.pid")).EndsWith('\n'), "the app to start");
            Assert.Equal(scoord.Pid, int.Parse(File.ReadAllText(t.Path("scoord.pid")).Trim(), CultureInfo.InvariantCulture));
            int bell = Directory.GetDirectories("/proc").Select(d => int.TryParse(Path.GetFileName(d), out int pid) ? pid : 0)
                .Single(pid => pid > 0 && ParentOf(pid) == scoord.Pid && CommandLine(pid).Contains("--doorbell", StringComparison.Ordinal));
            doorbell = NiceOf(bell, bell);
            CliResult c = t.Cli.Run("checkpoint");
            Assert.True(c.ExitCode == 0, c + "\n" + scoord);
        }
        finally
        {
            LetItEnd(t, scoord);
        }

        Assert.True(scoord.HasExited && scoord.ExitCode == 0, scoord.ToString());
        Assert.Equal(own.ToString(CultureInfo.InvariantCulture), File.ReadAllText(t.Path("app.nice")).Trim());
        Assert.Equal(own.ToString(CultureInfo.InvariantCulture), File.ReadAllText(t.Path("hook.nice")).Trim()); // spawned by the raised barrier
        // As root (CI) scoord may raise its helpers: the doorbell runs 10 steps above (at most -20).
        Assert.Equal(Environment.UserName == "root" ? Math.Max(own - 10, -20) : own, doorbell);
    }

    /// <summary>Creates "go" (the app ends) and waits for scoord (killed after 60 s; the caller asserts its exit, after the finally).</summary>
    private static void LetItEnd(TracedRun t, BackgroundScoord scoord)
    {
        File.WriteAllText(t.Path("go"), string.Empty);
        if (!scoord.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            scoord.Kill();
        }
    }

    private static int ParentOf(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return 0; // gone meanwhile
        }
    }

    private static string CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
        }
        catch (IOException)
        {
            return string.Empty;
        }
    }

    private static int ThreadId() => int.Parse(Path.GetFileName(File.ResolveLinkTarget("/proc/thread-self", false)!.FullName), CultureInfo.InvariantCulture);

    /// <summary>The nice value of a thread, from /proc/PID/task/TID/stat (field 19).</summary>
    private static int NiceOf(int pid, int tid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/task/{tid}/stat");
        string[] rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return int.Parse(rest[16], CultureInfo.InvariantCulture); // field 19; rest[0] is field 3
    }
}
