using System.Diagnostics;
using Scoord.Tests.Support;

namespace Scoord.Tests.Tracing;

/// <summary>
/// The controlling terminal passes through: an interactive program works in a real pty (tmux),
/// Ctrl-C reaches the program and not scoord, Ctrl-Z stops the job and `fg` resumes it.
/// </summary>
public sealed class TerminalTests
{
    private static string Tmux(params string[] args)
    {
        var psi = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using Process p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return output;
    }

    private static string WaitForScreen(string session, string text)
    {
        var sw = Stopwatch.StartNew();
        string screen = "";
        while (sw.Elapsed < TimeSpan.FromSeconds(60))
        {
            screen = Tmux("capture-pane", "-p", "-t", session);
            if (screen.Contains(text, StringComparison.Ordinal))
            {
                return screen;
            }

            Thread.Sleep(100);
        }

        throw new Xunit.Sdk.XunitException($"'{text}' never appeared on the terminal:\n{screen}");
    }

    private static string ScoordCommand()
    {
        string bin = ScoordCli.BinaryPath;
        return bin.EndsWith(".dll", StringComparison.Ordinal) ? $"dotnet {bin}" : bin;
    }

    [Fact]
    public void PythonRepl_WorksInTheTerminal_AndCtrlCInterruptsThePythonNotScoord()
    {
        using var t = new TracedRun();
        string session = "scoord-repl-" + Environment.ProcessId;
        Tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "40", "-c", t.Tree.Path,
            $"SCOORD_JOURNAL={t.Journal} {ScoordCommand()} run -- python3 -q; echo SCOORD-EXIT=$?; sleep 60");
        try
        {
            WaitForScreen(session, ">>>");
            Tmux("send-keys", "-t", session, "print(6*7)", "Enter");
            WaitForScreen(session, "42");
            Tmux("send-keys", "-t", session, "import time; time.sleep(30)", "Enter");
            Thread.Sleep(500);
            Tmux("send-keys", "-t", session, "C-c");
            WaitForScreen(session, "KeyboardInterrupt");
            Tmux("send-keys", "-t", session, "open('repl.txt', 'w').write('from the repl')", "Enter");
            WaitForScreen(session, "13");
            Tmux("send-keys", "-t", session, "exit()", "Enter");
            WaitForScreen(session, "SCOORD-EXIT=0");
        }
        finally
        {
            Tmux("kill-session", "-t", session);
        }

        Assert.Equal("from the repl", File.ReadAllText(t.Path("repl.txt")));
        Assert.Contains(t.Log(), l => l.Op == "write" && l.Path == t.Path("repl.txt"));
    }

    [Fact]
    public void CtrlZ_StopsTheJob_AndFgResumesIt()
    {
        using var t = new TracedRun();
        string session = "scoord-jobs-" + Environment.ProcessId;
        Tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "40", "-c", t.Tree.Path, "bash --norc --noprofile -i");
        try
        {
            Tmux("send-keys", "-t", session,
                $"SCOORD_JOURNAL={t.Journal} {ScoordCommand()} run -- sh -c 'sleep 2; echo done > done.txt'", "Enter");
            Thread.Sleep(1000);
            Tmux("send-keys", "-t", session, "C-z");
            WaitForScreen(session, "Stopped");
            Thread.Sleep(2500);
            Assert.False(File.Exists(t.Path("done.txt")), "the stopped job kept running");
            Tmux("send-keys", "-t", session, "fg", "Enter");
            var sw = Stopwatch.StartNew();
            while (!File.Exists(t.Path("done.txt")) && sw.Elapsed < TimeSpan.FromSeconds(60))
            {
                Thread.Sleep(100);
            }

            Thread.Sleep(500);
            Tmux("send-keys", "-t", session, "echo JOB-EXIT=$?", "Enter");
            WaitForScreen(session, "JOB-EXIT=0");
        }
        finally
        {
            Tmux("kill-session", "-t", session);
        }

        Assert.Equal("done\n", File.ReadAllText(t.Path("done.txt")));
    }
}
