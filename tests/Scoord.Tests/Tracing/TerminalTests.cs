using System.Diagnostics;
using Scoord.Tests.Support;

namespace Scoord.Tests.Tracing;

/// <summary>
/// The controlling terminal passes through: an interactive program works in a real pty (tmux),
/// Ctrl-C reaches the program and not scoord, Ctrl-Z stops the job and `fg` resumes it.
/// </summary>
public sealed class TerminalTests
{
    [Fact]
    public void PythonRepl_WorksInTheTerminal_AndCtrlCInterruptsThePythonNotScoord()
    {
        using var t = new TracedRun();
        string session = "scoord-repl-" + Environment.ProcessId;
        Tmux.Run("new-session", "-d", "-s", session, "-x", "120", "-y", "40", "-c", t.Tree.Path,
            $"SCOORD_JOURNAL={t.Journal} {Tmux.ScoordCommand()} run -- python3 -q; echo SCOORD-EXIT=$?; sleep 60");
        try
        {
            Tmux.WaitForScreen(session, ">>>");
            Tmux.Run("send-keys", "-t", session, "print(6*7)", "Enter");
            Tmux.WaitForScreen(session, "42");
            Tmux.Run("send-keys", "-t", session, "import time; time.sleep(30)", "Enter");
            Thread.Sleep(500);
            Tmux.Run("send-keys", "-t", session, "C-c");
            Tmux.WaitForScreen(session, "KeyboardInterrupt");
            Tmux.Run("send-keys", "-t", session, "open('repl.txt', 'w').write('from the repl')", "Enter");
            Tmux.WaitForScreen(session, "13");
            Tmux.Run("send-keys", "-t", session, "exit()", "Enter");
            Tmux.WaitForScreen(session, "SCOORD-EXIT=0");
        }
        finally
        {
            Tmux.Run("kill-session", "-t", session);
        }

        Assert.Equal("from the repl", File.ReadAllText(t.Path("repl.txt")));
        Assert.Contains(t.Log(), l => l.Op == "write" && l.Path == t.Path("repl.txt"));
    }

    [Fact]
    public void CtrlZ_StopsTheJob_AndFgResumesIt()
    {
        using var t = new TracedRun();
        string session = "scoord-jobs-" + Environment.ProcessId;
        Tmux.Run("new-session", "-d", "-s", session, "-x", "120", "-y", "40", "-c", t.Tree.Path, "bash --norc --noprofile -i");
        try
        {
            Tmux.Run("send-keys", "-t", session,
                $"SCOORD_JOURNAL={t.Journal} {Tmux.ScoordCommand()} run -- sh -c 'sleep 2; echo done > done.txt'", "Enter");
            Thread.Sleep(1000);
            Tmux.Run("send-keys", "-t", session, "C-z");
            Tmux.WaitForScreen(session, "Stopped");
            Thread.Sleep(2500);
            Assert.False(File.Exists(t.Path("done.txt")), "the stopped job kept running");
            Tmux.Run("send-keys", "-t", session, "fg", "Enter");
            var sw = Stopwatch.StartNew();
            while (!File.Exists(t.Path("done.txt")) && sw.Elapsed < TimeSpan.FromSeconds(60))
            {
                Thread.Sleep(100);
            }

            Thread.Sleep(500);
            Tmux.Run("send-keys", "-t", session, "echo JOB-EXIT=$?", "Enter");
            Tmux.WaitForScreen(session, "JOB-EXIT=0");
        }
        finally
        {
            Tmux.Run("kill-session", "-t", session);
        }

        Assert.Equal("done\n", File.ReadAllText(t.Path("done.txt")));
    }
}
