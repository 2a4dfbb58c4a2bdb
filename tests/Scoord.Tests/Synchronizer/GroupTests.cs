using System.Diagnostics;
using System.Text.Json;
using Scoord.Tests.Support;
using Scoord.Tests.Tracing;

namespace Scoord.Tests.Synchronizer;

/// <summary>
/// Application groups: a second `scoord run` on a journal whose coordinator runs joins that
/// coordinator's group. Its stdio, cwd and environment go with it, its exit status comes back,
/// checkpoints stop and cover every application, `scoord status` lists them.
/// </summary>
public sealed class GroupTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(60);

    /// <summary>`scoord run` of a first application that waits until <c>release</c> exists (created outside scoord).</summary>
    private static Process StartFirst(TracedRun t, string script = "echo a > first.txt; while [ ! -e release ]; do sleep 0.05; done")
    {
        Process first = StartScoord(t, t.Tree.Path, "run", "--", "sh", "-c", script);
        WaitFor(() => File.Exists(t.Path("first.txt")) || first.HasExited, "the first application");
        if (first.HasExited)
        {
            Assert.Fail("the first application ended early: " + first.StandardError.ReadToEnd());
        }

        return first;
    }

    private static Process StartScoord(TracedRun t, string cwd, params string[] args) =>
        ScoordProcess.Start(t.Journal, cwd, args, redirectInput: true);

    private static void WaitFor(Func<bool> condition, string what)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(sw.Elapsed < s_wait, "timed out waiting for " + what);
            Thread.Sleep(50);
        }
    }

    private static void Release(TracedRun t, Process first)
    {
        File.WriteAllText(t.Path("release"), "");
        Assert.True(first.WaitForExit(60_000), "the first scoord run did not end");
    }

    [Fact]
    public void JoinedProgram_GetsItsOwnStdinStdoutStderrCwdAndEnvironment_AndItsExitStatusComesBack()
    {
        using var t = new TracedRun();
        using Process first = StartFirst(t);
        Directory.CreateDirectory(t.Path("sub"));
        using Process joined = ScoordProcess.Start(t.Journal, t.Path("sub"),
            ["run", "--", "sh", "-c", "read line; echo \"got $line in $(pwd) with $GROUP_TEST\"; echo to-stderr >&2; echo made > here.txt; exit 7"],
            new Dictionary<string, string> { ["GROUP_TEST"] = "from-the-joiner" }, redirectInput: true);
        joined.StandardInput.WriteLine("hello");
        joined.StandardInput.Close();
        string stdout = joined.StandardOutput.ReadToEnd();
        string stderr = joined.StandardError.ReadToEnd();
        Assert.True(joined.WaitForExit(60_000), "the joined scoord run did not end");
        Assert.Equal(7, joined.ExitCode);
        Assert.Equal($"got hello in {t.Path("sub")} with from-the-joiner\n", stdout);
        Assert.Equal("to-stderr\n", stderr);
        Assert.Equal("made\n", File.ReadAllText(t.Path("sub/here.txt")));
        Assert.False(first.HasExited, "the first application must keep running");

        // Journaled by the one coordinator, into the one journal.
        Assert.Contains(t.Log(), l => l.Op == "openat" && l.Path == t.Path("sub/here.txt") && l.Status == "completed");
        Release(t, first);
        Assert.Equal(0, first.ExitCode);
    }

    [Fact]
    public void JoinedProgramKilledBySignal_Returns128PlusTheSignal()
    {
        using var t = new TracedRun();
        using Process first = StartFirst(t);
        CliResult joined = t.Sh("kill -TERM $$; sleep 5");
        Assert.Equal(128 + 15, joined.ExitCode);
        Release(t, first);
    }

    [Fact]
    public void SignalsSentToTheJoiningRun_ReachTheProgram_AndItsExitStatusComesBack()
    {
        using var t = new TracedRun();
        using Process first = StartFirst(t);
        // python, not a shell's trap: SIGINT is ignored in commands a non-interactive shell starts with & (a CI runner's).
        const string Program = "import signal, sys, time\n" +
            "def interrupted(*_):\n    open('int.txt', 'w').write('interrupted\\n')\n    sys.exit(9)\n" +
            "signal.signal(signal.SIGINT, interrupted)\nopen('up.txt', 'w').write('up\\n')\nwhile True:\n    time.sleep(0.05)\n";
        using Process joined = StartScoord(t, t.Tree.Path, "run", "--", "python3", "-c", Program);
        WaitFor(() => File.Exists(t.Path("up.txt")), "the joined program");
        Thread.Sleep(200);
        // What the terminal does on Ctrl-C: SIGINT to the joining run's process group (here: to it).
        Assert.Equal(0, Kill(joined.Id, 2));
        Assert.True(joined.WaitForExit(60_000), "the joined scoord run did not end");
        Assert.Equal(9, joined.ExitCode);
        Assert.Equal("interrupted\n", File.ReadAllText(t.Path("int.txt")));
        Assert.False(first.HasExited);
        Release(t, first);
    }

    [Fact]
    public void JoiningRunKilled_HangsUpTheProgram()
    {
        using var t = new TracedRun();
        using Process first = StartFirst(t);
        // python sets its SIGHUP handler whatever it inherited: a shell's trap cannot catch a signal that was
        // ignored when the shell started (POSIX), and the joined program starts with the joining run's ignored
        // signals, so `trap ... HUP` in sh failed every time this suite ran under nohup.
        const string Program = "import signal, sys, time\n" +
            "def hup(*_):\n    open('hup.txt', 'w').write('hangup\\n')\n    sys.exit(1)\n" +
            "signal.signal(signal.SIGHUP, hup)\nopen('up.txt', 'w').write('up\\n')\nwhile True:\n    time.sleep(0.05)\n";
        using Process joined = StartScoord(t, t.Tree.Path, "run", "--", "python3", "-c", Program);
        WaitFor(() => File.Exists(t.Path("up.txt")), "the joined program");
        joined.Kill();
        joined.WaitForExit();
        WaitFor(() => File.Exists(t.Path("hup.txt")) && File.ReadAllText(t.Path("hup.txt")) == "hangup\n", "the program to get SIGHUP");
        Release(t, first);
        Assert.Equal(0, first.ExitCode);
    }

    [Fact]
    public void JoinedProgram_StartsWithTheJoiningRunsIgnoredSignals_NotTheCoordinators()
    {
        // The coordinator ignores SIGHUP and SIGUSR2 (as under nohup), the joining run SIGUSR1: the joined
        // program ignores SIGUSR1 only, as if the joining run had started it; SIGPIPE is at its default in both.
        using var t = new TracedRun();
        const string Script = "echo a > first.txt; while [ ! -e release ]; do sleep 0.05; done";
        using Process first = Process.Start(IgnoringSignals(ScoordProcess.StartInfo(t.Journal, t.Tree.Path, ["run", "--", "sh", "-c", Script], redirectInput: true), 1, 12))!;
        WaitFor(() => File.Exists(t.Path("first.txt")) || first.HasExited, "the first application");
        Assert.False(first.HasExited, "the first application ended early");
        using Process joined = Process.Start(IgnoringSignals(ScoordProcess.StartInfo(t.Journal, t.Tree.Path, ["run", "--", "grep", "SigIgn", "/proc/self/status"], redirectInput: true), 10))!;
        string stdout = joined.StandardOutput.ReadToEnd();
        string stderr = joined.StandardError.ReadToEnd();
        Assert.True(joined.WaitForExit(60_000), "the joined scoord run did not end");
        Assert.True(joined.ExitCode == 0, $"exit {joined.ExitCode}: {stdout}{stderr}");
        ulong mask = SigIgn(stdout);

        // What the joining side's own child gets (python itself adds SIGXFSZ and SIGPIPE): the same, but SIGPIPE,
        // which every program under scoord gets at its default.
        ProcessStartInfo direct = IgnoringSignals(new ProcessStartInfo("grep") { ArgumentList = { "SigIgn", "/proc/self/status" }, RedirectStandardOutput = true }, 10);
        using Process d = Process.Start(direct)!;
        ulong expected = SigIgn(d.StandardOutput.ReadToEnd()) & ~(1UL << (13 - 1));
        d.WaitForExit();
        Assert.True((expected & (1UL << (10 - 1))) != 0 && (expected & ((1UL << (1 - 1)) | (1UL << (12 - 1)))) == 0, $"the wrapper did not ignore what it should: {expected:x16}");
        Assert.True(mask == expected, $"the joined program's ignored signals are {mask:x16}, the joining side's {expected:x16} (SIGHUP and SIGUSR2 are the coordinator's)");
        Release(t, first);
        Assert.Equal(0, first.ExitCode);
    }

    private static ulong SigIgn(string statusLine) =>
        ulong.Parse(statusLine.Split(':', 2)[1].Trim(), System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The start info, run through python3 that sets <paramref name="signals"/> to SIG_IGN and execs it.</summary>
    private static ProcessStartInfo IgnoringSignals(ProcessStartInfo psi, params int[] signals)
    {
        var args = new List<string>(psi.ArgumentList);
        psi.ArgumentList.Clear();
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("import os, signal, sys\nfor s in sys.argv[1].split(','):\n    signal.signal(int(s), signal.SIG_IGN)\nos.execvp(sys.argv[2], sys.argv[2:])");
        psi.ArgumentList.Add(string.Join(',', signals));
        psi.ArgumentList.Add(psi.FileName);
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.FileName = "python3";
        return psi;
    }

    [Fact]
    public void SigtermToTheCoordinator_EndsEveryApplicationOfTheGroup()
    {
        using var t = new TracedRun();
        using Process first = StartFirst(t);
        using Process joined = StartScoord(t, t.Tree.Path,
            "run", "--", "sh", "-c", "trap 'echo terminated > term.txt; exit 5' TERM; echo up > up.txt; while :; do sleep 0.05; done");
        WaitFor(() => File.Exists(t.Path("up.txt")), "the joined program");
        Thread.Sleep(200);
        Assert.Equal(0, Kill(first.Id, 15));
        Assert.True(first.WaitForExit(60_000), "the coordinator did not end");
        Assert.True(joined.WaitForExit(60_000), "the joined scoord run did not end");
        Assert.Equal(128 + 15, first.ExitCode);
        Assert.Equal(5, joined.ExitCode);
        Assert.Equal("terminated\n", File.ReadAllText(t.Path("term.txt")));
    }

    [Fact]
    public void Status_ListsTheGroupsApplicationsAndProcesses()
    {
        using var t = new TracedRun();
        using Process first = StartFirst(t);
        using Process joined = StartScoord(t, t.Tree.Path,
            "run", "--", "sh", "-c", "echo up > up.txt; while [ ! -e release ]; do sleep 0.05; done; exit 4");
        WaitFor(() => File.Exists(t.Path("up.txt")), "the joined program");

        CliResult json = t.Cli.Run("status", "--json");
        Assert.True(json.ExitCode == 0, json.ToString());
        using JsonDocument doc = JsonDocument.Parse(json.Stdout);
        JsonElement apps = doc.RootElement.GetProperty("applications");
        Assert.Equal(2, apps.GetArrayLength());
        Assert.Equal("running", apps[0].GetProperty("state").GetString());
        Assert.Equal("running", apps[1].GetProperty("state").GetString());
        Assert.Contains("exit 4", apps[1].GetProperty("argv")[2].GetString(), StringComparison.Ordinal);
        int appPid = apps[1].GetProperty("pid").GetInt32();
        JsonElement processes = doc.RootElement.GetProperty("live_processes");
        Assert.Contains(processes.EnumerateArray(), p => p.GetProperty("pid").GetInt32() == appPid && p.GetProperty("app").GetInt32() == 2);
        Assert.Contains(processes.EnumerateArray(), p => p.GetProperty("app").GetInt32() == 1);

        CliResult text = t.Cli.Run("status");
        Assert.True(text.ExitCode == 0, text.ToString());
        Assert.Contains("applications 2", text.Stdout, StringComparison.Ordinal);
        Assert.Contains($"app 2  pid {appPid}  running", text.Stdout, StringComparison.Ordinal);

        Release(t, first);
        Assert.True(joined.WaitForExit(60_000));
        Assert.Equal(4, joined.ExitCode);
    }

    [Fact]
    public void Checkpoint_StopsAndCoversEveryApplication_AndRollbackRestoresBoth()
    {
        using var t = new TracedRun();
        // Both applications append numbered lines as fast as they can while the checkpoint is taken.
        const string Loop = "i=0; while [ ! -e release ]; do i=$((i+1)); echo $i >> {0}; done";
        using Process first = StartScoord(t, t.Tree.Path, "run", "--", "sh", "-c", "echo a > first.txt; " + string.Format(System.Globalization.CultureInfo.InvariantCulture, Loop, "a.log"));
        WaitFor(() => File.Exists(t.Path("a.log")), "the first application");
        using Process joined = StartScoord(t, t.Tree.Path, "run", "--", "sh", "-c", string.Format(System.Globalization.CultureInfo.InvariantCulture, Loop, "b.log"));
        WaitFor(() => File.Exists(t.Path("b.log")) && new FileInfo(t.Path("b.log")).Length > 20, "the joined application");

        CliResult ckpt = t.Cli.Run("checkpoint", "--name", "both");
        Assert.True(ckpt.ExitCode == 0, ckpt.ToString());
        Thread.Sleep(300);
        File.WriteAllText(t.Path("release"), "");
        Assert.True(first.WaitForExit(60_000) && joined.WaitForExit(60_000));

        // What the journal says each file held at the checkpoint: its completed appends before the checkpoint's seq.
        CliResult list = t.Cli.Run("checkpoints", "--json");
        ulong seq = JsonDocument.Parse(list.StdoutLines.Single()).RootElement.GetProperty("seq").GetUInt64();
        IReadOnlyList<LogLine> log = t.Log();
        int AppendsBefore(string file) => log.Count(l => l.Op == "write" && l.Path == t.Path(file) && l.Seq < seq && l.Status == "completed");
        int a = AppendsBefore("a.log");
        int b = AppendsBefore("b.log");
        Assert.True(a > 0 && b > 0, $"both applications wrote before the checkpoint ({a}, {b})");
        Assert.DoesNotContain(log, l => l.Seq < seq && l.Status == "pending");
        Assert.True(File.ReadAllLines(t.Path("b.log")).Length > b, "the joined application went on after the checkpoint");

        CliResult rollback = t.Cli.Run("rollback", "both");
        Assert.True(rollback.ExitCode == 0, rollback.ToString());
        Assert.Equal(Enumerable.Range(1, a).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), File.ReadAllLines(t.Path("a.log")));
        Assert.Equal(Enumerable.Range(1, b).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), File.ReadAllLines(t.Path("b.log")));
    }

    [Fact]
    public void InteractiveProgram_JoinedFromAnotherTerminal_WorksThere_AndCtrlCReachesIt()
    {
        using var t = new TracedRun();
        using Process first = StartFirst(t);
        string session = "scoord-join-" + Environment.ProcessId;
        string scoord = Tmux.ScoordCommand();
        Tmux.Run("new-session", "-d", "-s", session, "-x", "120", "-y", "40", "-c", t.Tree.Path,
            $"SCOORD_JOURNAL={t.Journal} {scoord} run -- python3 -q; echo SCOORD-EXIT=$?; sleep 60");
        try
        {
            Tmux.WaitForScreen(session, ">>>");
            Tmux.Run("send-keys", "-t", session, "print(6*7)", "Enter");
            Tmux.WaitForScreen(session, "42");
            Tmux.Run("send-keys", "-t", session, "import time; time.sleep(30)", "Enter");
            Thread.Sleep(500);
            Tmux.Run("send-keys", "-t", session, "C-c");
            Tmux.WaitForScreen(session, "KeyboardInterrupt");
            Tmux.Run("send-keys", "-t", session, "open('joined.txt', 'w').write('in the group')", "Enter");
            Tmux.WaitForScreen(session, "12");
            Tmux.Run("send-keys", "-t", session, "exit(3)", "Enter");
            Tmux.WaitForScreen(session, "SCOORD-EXIT=3");
        }
        finally
        {
            Tmux.Run("kill-session", "-t", session);
        }

        Assert.Equal("in the group", File.ReadAllText(t.Path("joined.txt")));
        Assert.False(first.HasExited, "the first application must keep running");
        Assert.Contains(t.Log(), l => l.Op == "write" && l.Path == t.Path("joined.txt"));
        Release(t, first);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);
}
