using System.Diagnostics;
using Scoord.Tests.Support;
using Scoord.Tests.Tracing;

namespace Scoord.Tests.Reliability;

/// <summary>A checkpoint barrier that catches a vfork child before its exec (its parent cannot stop until then).</summary>
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
