using System.Diagnostics;
using Scoord.Coordinator.Control;
using Scoord.Journal;
using Scoord.Tests.Reliability;
using Scoord.Tests.Support;
using Scoord.Tests.Tracing;

namespace Scoord.Tests.Checkpoints;

/// <summary>
/// A checkpoint barrier that catches a vfork child before its exec must not wait for the parent, which
/// the kernel keeps blocked until the child execs: that wait never ended (found by the issue 5 barrier
/// benchmark, within 10 to 100 checkpoints). Two ways in: a stream of checkpoints over a shell loop that
/// runs `sleep` (dash starts it with vfork), and one checkpoint while a vfork child sleeps before its exec.
/// </summary>
public sealed class BarrierVforkTests
{
    // The vfork child creates `ready` (a journaled op), sleeps 3 s, then execs: the parent stays blocked in vfork.
    private const string Source = """
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
int main(void)
{
    pid_t pid = vfork();
    if (pid == 0) {
        int fd = (int)syscall(SYS_openat, AT_FDCWD, "ready", O_WRONLY | O_CREAT, 0644);
        syscall(SYS_close, fd);
        struct timespec ts = { 3, 0 };
        while (syscall(SYS_nanosleep, &ts, &ts) != 0) { }
        execl("/bin/sh", "sh", "-c", "echo child > child.txt", (char *)0);
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    int fd = open("parent.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    write(fd, "parent\n", 7);
    close(fd);
    return 0;
}
""";

    [Fact]
    public void CheckpointsOfAShellLoopThatVforks_AllComplete()
    {
        using var t = new TracedRun();
        using Process app = ScoordProcess.Start(t.Journal, t.Tree.Path, ["run", "--", "sh", "-c", "echo a > a; while [ ! -e go ]; do sleep 0.005; done"]);
        try
        {
            var sw = Stopwatch.StartNew();
            while (!(File.Exists(t.Path("a")) && File.Exists(Path.Combine(t.Journal, "control.sock"))))
            {
                Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60) && !app.HasExited, "the app did not start");
                Thread.Sleep(20);
            }

            for (int i = 1; i <= 150; i++)
            {
                CheckpointInfo taken;
                try
                {
                    taken = ControlClient.Checkpoint(t.Journal, null, TimeSpan.FromSeconds(20));
                }
                catch (ScoordException e)
                {
                    throw new Xunit.Sdk.XunitException($"checkpoint {i} did not complete: {e.Message}");
                }

                Assert.Equal(i, taken.Id);
                Thread.Sleep(3);
            }
        }
        finally
        {
            File.WriteAllText(t.Path("go"), "");
            if (!app.WaitForExit(30_000))
            {
                app.Kill(entireProcessTree: true);
            }
        }

        Assert.Equal(0, app.ExitCode);
    }

    [Fact]
    public void CheckpointWhileAVforkChildSleepsBeforeItsExec_CompletesAtOnce()
    {
        using var t = new TracedRun();
        string exe = TracedRun.Compile(t.JournalTree, "vforker", Source);
        using Process run = FaultSupport.Start(t, null, "run", "--", exe);
        using IDisposable killRun = FaultSupport.KillAtEnd(run);
        FaultSupport.WaitFor(() => File.Exists(t.Path("ready")), "the vfork child");

        var sw = Stopwatch.StartNew();
        var cli = new ScoordCli(t.Journal, t.Tree.Path) { Timeout = TimeSpan.FromSeconds(30) };
        CliResult ckpt = cli.Run("checkpoint", "--name", "during-vfork");
        Assert.True(ckpt.ExitCode == 0, ckpt.ToString());
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(15), "the barrier waited " + sw.Elapsed);

        Assert.True(run.WaitForExit(30_000), "scoord run did not finish");
        Assert.Equal(0, run.ExitCode);
        Assert.Equal("child\n", File.ReadAllText(t.Path("child.txt")));
        Assert.Equal("parent\n", File.ReadAllText(t.Path("parent.txt")));
        Assert.Contains(t.Log(), l => l.Op == "checkpoint" && l.Path2 == "during-vfork");
    }
}
