using System.Diagnostics;
using Scoord.Coordinator.Control;
using Scoord.Journal;
using Scoord.Tests.Support;
using Scoord.Tests.Tracing;

namespace Scoord.Tests.Checkpoints;

/// <summary>
/// A shell loop that runs `sleep` (dash starts it with vfork) under a stream of checkpoints. A barrier
/// that stops the vfork child before its exec must not wait for the parent, which the kernel keeps
/// blocked until the child execs: that wait never ended (found by the issue 5 barrier benchmark, within
/// 10 to 100 checkpoints).
/// </summary>
public sealed class BarrierVforkTests
{
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
}
