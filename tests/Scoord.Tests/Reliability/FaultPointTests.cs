using System.Diagnostics;
using Scoord.Tests.Rollback;
using Scoord.Tests.Support;
using Scoord.Tests.Tracing;

namespace Scoord.Tests.Reliability;

/// <summary>
/// kill -9 of scoord at each named fault point (SCOORD_FAULT, docs/reliability.md): the app dies with it,
/// the journal reopens, the lock and the control socket are taken over by the next coordinator, and a
/// rollback to a checkpoint taken before gives exactly the checkpoint's tree. The tracer's fault points are
/// reached on the ptrace way (--no-fastpath); drain-before-commit kills scoord with the fast path's records
/// still in the rings (recovered at the next open). FastPath/FastPathCrashTests kills the app inside a hook.
/// </summary>
public sealed class FaultPointTests
{
    private const int Killed = 128 + 9;

    [Theory]
    [InlineData("run-before-commit@3")]
    [InlineData("run-after-intent@3")]
    [InlineData("run-after-intent@9")]
    [InlineData("run-before-completion@3")]
    [InlineData("run-before-completion@9")]
    [InlineData("drain-before-commit@2")]
    [InlineData("drain-before-commit@4")]
    public void ScoordKilledDuringARun_AppDiesWithIt_JournalReopens_RollbackIsExact(string fault)
    {
        using var t = new TracedRun();
        TreeSnapshot atCheckpoint = FaultSupport.SetUpAndCheckpoint(t);
        bool drain = fault.StartsWith("drain-", StringComparison.Ordinal);
        if (drain)
        {
            t.Cli.Environment["SCOORD_NO_FASTPATH"] = null;
            t.Cli.Environment["SCOORD_FASTPATH"] = "1";
        }

        t.Cli.Environment["SCOORD_FAULT"] = fault;
        CliResult run = t.Cli.Run(["run", .. drain ? Array.Empty<string>() : ["--no-fastpath"], "--", "sh", "-c", (drain ? FaultSupport.ChangesSpaced : FaultSupport.Changes) + "; sleep 30"]);
        t.Cli.Environment.Remove("SCOORD_FAULT");
        Assert.True(run.ExitCode == Killed, run.ToString());
        Assert.Contains("fault point " + fault.Split('@')[0] + " reached", run.Stderr);
        FaultSupport.AssertAppGone(t);
        Assert.False(File.Exists(t.Path("done")), "the app ran on after scoord died");

        IReadOnlyList<LogLine> log = FaultSupport.AssertJournalReopens(t);
        if (!fault.StartsWith("run-before-commit", StringComparison.Ordinal) && !drain)
        {
            // The op of the killed batch is in the journal without its completion.
            Assert.Contains(log, l => l.Status == "pending" && l.Path is not null && l.Path.StartsWith(t.Tree.Path, StringComparison.Ordinal));
        }

        // The lock died with the killed coordinator: a new run takes it.
        CliResult next = t.Run("true");
        Assert.True(next.ExitCode == 0, next.ToString());
        FaultSupport.AssertRollbackRestores(t, atCheckpoint);
    }

    /// <summary>
    /// Found by the kill -9 property (ptrace only): scoord killed between the intent and the result of an
    /// open without O_CREAT of a name below a directory that does not exist. That op failed (ENOENT); a
    /// rollback must not take it as proof that the directory existed ("removed outside the journal").
    /// </summary>
    [Fact]
    public void ScoordKilledAfterTheIntentOfAnOpenBelowAMissingDirectory_RollbackHasNoConflict()
    {
        using var t = new TracedRun();
        TreeSnapshot atCheckpoint = FaultSupport.SetUpAndCheckpoint(t);
        IReadOnlyList<LogLine> log = RunKilledAt(t, "run-after-intent@1", "truncate", "-c", "-s", "0", "d/nodir/f0");
        Assert.Contains(log, l => l.Status == "pending" && l.Path is not null && l.Path.EndsWith("d/nodir/f0", StringComparison.Ordinal));
        FaultSupport.AssertRollbackRestores(t, atCheckpoint);
    }

    /// <summary>
    /// Found by the kill -9 fact of RollbackExactnessTests (CI, ptrace pass): scoord killed between the intent
    /// and the result of `echo x >> f` where f is a symlink that loops (f -> f). That open fails with ELOOP;
    /// the journal had recorded the name as empty (the followed stat failed), so the rollback took the link
    /// it found there for the file the open had made, with the link's own inode: "held inode X, which the
    /// kernel gave to a new object" and "replaced outside the journal (inode X -> X)".
    /// </summary>
    [Fact]
    public void ScoordKilledAfterTheIntentOfAnOpenOfALoopingSymlink_RollbackHasNoConflict()
    {
        using var t = new TracedRun();
        CliResult setup = t.Sh(FaultSupport.Setup + "; ln -s loop d/loop");
        Assert.True(setup.ExitCode == 0, setup.ToString());
        Assert.True(t.Cli.Run("checkpoint").ExitCode == 0);
        TreeSnapshot atCheckpoint = TreeSnapshot.Take(t.Tree.Path);
        IReadOnlyList<LogLine> log = RunKilledAt(t, "run-after-intent@1", "sh", "-c", "echo x >> d/loop");
        Assert.Contains(log, l => l.Status == "pending" && l.Path is not null && l.Path.EndsWith("d/loop", StringComparison.Ordinal));
        FaultSupport.AssertRollbackRestores(t, atCheckpoint);
    }

    /// <summary>
    /// Found by the kill -9 property in its long mode: scoord killed after `renameat2(a, b, RENAME_EXCHANGE)` ran
    /// and before its result was recorded. The exchange happened (both names hold the other object), and it
    /// changed both objects' ctime, whose post-states died with the coordinator: the rollback reported both
    /// names as "changed outside the journal (ctime)" and left them swapped.
    /// </summary>
    [Fact]
    public void ScoordKilledAfterAnExchangeRanBeforeItsResult_RollbackSwapsBack_WithoutConflict()
    {
        using var t = new TracedRun();
        string exe = TracedRun.Compile(t.JournalTree, "exchange", """
            #define _GNU_SOURCE
            #include <fcntl.h>
            #include <stdio.h>
            #include <unistd.h>
            #include <sys/syscall.h>
            int main(void) {
                return syscall(SYS_renameat2, AT_FDCWD, "d/a", AT_FDCWD, "d/b", 2 /* RENAME_EXCHANGE */) == 0 ? 0 : 1;
            }
            """);
        TreeSnapshot atCheckpoint = FaultSupport.SetUpAndCheckpoint(t);
        CliResult change = t.Sh("echo x >> d/a; echo y >> d/b"); // the journal knows both files' ctime from here on
        Assert.True(change.ExitCode == 0, change.ToString());
        IReadOnlyList<LogLine> log = RunKilledAt(t, "run-before-completion@1", exe);
        Assert.Contains(log, l => l.Status == "pending" && l.Op == "renameat2" && l.Path is not null && l.Path.EndsWith("d/a", StringComparison.Ordinal));
        Assert.NotEqual(atCheckpoint.ToString(), TreeSnapshot.Take(t.Tree.Path).ToString()); // the exchange ran
        FaultSupport.AssertRollbackRestores(t, atCheckpoint);
    }

    /// <summary>
    /// Found by the kill -9 property in its long mode: scoord killed between the intent and the result of a
    /// metadata op (removexattr; here utimensat) on a name below a directory the journal had seen renamed away.
    /// Such an op records no state of a missing object, so the pending op was taken as done, and looking its
    /// object up made the missing directory "there": "d/sub/s is reached through d/sub, which the journal says
    /// is absent" and "d/sub was removed outside the journal".
    /// </summary>
    [Fact]
    public void ScoordKilledAfterTheIntentOfAMetadataOpBelowADirectoryMovedAway_RollbackHasNoConflict()
    {
        using var t = new TracedRun();
        TreeSnapshot atCheckpoint = FaultSupport.SetUpAndCheckpoint(t);
        CliResult move = t.Sh("mv d/sub d/sub2");
        Assert.True(move.ExitCode == 0, move.ToString());
        IReadOnlyList<LogLine> log = RunKilledAt(t, "run-after-intent@1", "touch", "-c", "-d", "@1", "d/sub/s");
        Assert.Contains(log, l => l.Status == "pending" && l.Path is not null && l.Path.EndsWith("d/sub/s", StringComparison.Ordinal));
        FaultSupport.AssertRollbackRestores(t, atCheckpoint);
    }

    /// <summary>`scoord run --no-fastpath -- COMMAND` with FAULT armed: scoord dies there; the journal reopens (its log returned).</summary>
    private static IReadOnlyList<LogLine> RunKilledAt(TracedRun t, string fault, params string[] command)
    {
        t.Cli.Environment["SCOORD_FAULT"] = fault;
        CliResult run = t.Cli.Run(["run", "--no-fastpath", "--", .. command]);
        t.Cli.Environment.Remove("SCOORD_FAULT");
        Assert.True(run.ExitCode == Killed, run.ToString());
        Assert.Contains("fault point " + fault.Split('@')[0] + " reached", run.Stderr);
        return FaultSupport.AssertJournalReopens(t);
    }

    [Theory]
    [InlineData("checkpoint-before-record")]
    [InlineData("checkpoint-after-record")]
    public void ScoordKilledInsideACheckpointBarrier_AppDiesWithIt_RollbackToEitherCheckpointIsExact(string fault)
    {
        using var t = new TracedRun();
        TreeSnapshot first = FaultSupport.SetUpAndCheckpoint(t);
        using Process scoord = FaultSupport.Start(t, fault, "run", "--", "sh", "-c", "echo x >> d/a; echo new > d/c; rm d/b; touch ready; sleep 30; touch done");
        using IDisposable killScoord = FaultSupport.KillAtEnd(scoord);
        // `touch` creates, then sets the times: wait until the script sleeps, so the tree no longer moves.
        FaultSupport.WaitFor(() => FaultSupport.ProcessesIn(t.Tree.Path).Exists(p => p.EndsWith(" sleep", StringComparison.Ordinal)), "the app's changes");
        TreeSnapshot second = TreeSnapshot.Take(t.Tree.Path);

        // The client's request dies with the coordinator. It then retries without a coordinator: before the
        // record it takes the checkpoint itself (the app is gone, the tree is as it was); after the record
        // the name is taken. Either way exactly one checkpoint "mid" exists, and one line on stderr at most.
        CliResult ckpt = t.Cli.Run("checkpoint", "--name", "mid");
        Assert.True(scoord.WaitForExit(30_000), "scoord did not die at the fault point");
        string stderr = scoord.StandardError.ReadToEnd();
        Assert.True(scoord.ExitCode == Killed, "scoord exit " + scoord.ExitCode + ": " + stderr);
        Assert.Contains("fault point " + fault + " reached", stderr);
        Assert.True(ckpt.StderrLines.Length <= 1, ckpt.ToString());
        FaultSupport.AssertAppGone(t);
        Assert.False(File.Exists(t.Path("done")), "the app ran on after scoord died");

        FaultSupport.AssertJournalReopens(t);
        CliResult list = t.Cli.Run("checkpoints", "--json");
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Single(list.StdoutLines, l => l.Contains("\"mid\"", StringComparison.Ordinal));
        FaultSupport.AssertRollbackRestores(t, first);
        FaultSupport.AssertRollbackRestores(t, second, "mid");
        FaultSupport.AssertRollbackRestores(t, first);
    }

    [Fact]
    public void RollbackKilledAtAFaultPoint_FinishesWhenRerun()
    {
        using var t = new TracedRun();
        TreeSnapshot atCheckpoint = FaultSupport.SetUpAndCheckpoint(t);
        CliResult run = t.Sh(FaultSupport.Changes);
        Assert.True(run.ExitCode == 0, run.ToString());

        t.Cli.Environment["SCOORD_FAULT"] = "rollback-midway@4";
        CliResult killed = t.Cli.Run("rollback", "1");
        t.Cli.Environment.Remove("SCOORD_FAULT");
        Assert.True(killed.ExitCode == Killed, killed.ToString());
        Assert.Contains("fault point rollback-midway reached", killed.Stderr);
        Assert.NotEqual(atCheckpoint.ToString(), TreeSnapshot.Take(t.Tree.Path).ToString());

        FaultSupport.AssertJournalReopens(t);
        FaultSupport.AssertRollbackRestores(t, atCheckpoint);
    }

    [Fact]
    public void TraceeKilledBetweenItsSyscallAndItsCompletion_ShowsPending_AndRollbackIsExact()
    {
        using var t = new TracedRun();
        TreeSnapshot atCheckpoint = FaultSupport.SetUpAndCheckpoint(t);

        // scoord SIGKILLs the tracee at the exit stop of its 2nd journaled op and goes on running.
        t.Cli.Environment["SCOORD_FAULT"] = "tracee-kill-before-completion@2";
        CliResult run = t.Cli.Run("run", "--no-fastpath", "--", "sh", "-c", FaultSupport.Changes);
        t.Cli.Environment.Remove("SCOORD_FAULT");
        Assert.True(run.ExitCode == Killed, run.ToString());
        Assert.DoesNotContain("fault point", run.Stderr); // scoord itself did not crash
        Assert.False(File.Exists(t.Path("done")));

        IReadOnlyList<LogLine> log = t.Log();
        LogLine exit = Assert.Single(log, l => l.Op == "exit" && l.Signal is not null);
        Assert.Equal("SIGKILL", exit.Signal);
        LogLine pending = Assert.Single(log, l => l.Status == "pending");
        Assert.Equal(exit.Pid, pending.Pid);
        Assert.True(pending.Seq < exit.Seq);
        FaultSupport.AssertRollbackRestores(t, atCheckpoint);
    }

    [Fact]
    public void UnknownFaultName_IsWarnedAbout_AndArmsNothing()
    {
        using var t = new TracedRun();
        t.Cli.Environment["SCOORD_FAULT"] = "run-after-intnet";
        CliResult run = t.Sh("echo a > f");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("scoord: warning: SCOORD_FAULT=run-after-intnet names no fault point (known: run-before-commit, run-after-intent, run-before-completion, checkpoint-before-record, checkpoint-after-record, rollback-midway, tracee-kill-before-completion, drain-before-commit, hook-after-intent, hook-after-syscall, decode-throw, complete-throw); nothing is armed", Assert.Single(run.StderrLines));
        Assert.Equal("a\n", File.ReadAllText(t.Path("f")));
    }

    [Fact]
    public void StaleLockAndControlSocket_LeftByKillDashNine_AreTakenOverByTheNextRun()
    {
        using var t = new TracedRun();
        FaultSupport.SetUpAndCheckpoint(t);
        t.Cli.Environment["SCOORD_FAULT"] = "run-after-intent";
        CliResult crashed = t.Cli.Run("run", "--no-fastpath", "--", "sh", "-c", "echo x > d/a; sleep 30");
        t.Cli.Environment.Remove("SCOORD_FAULT");
        Assert.Equal(Killed, crashed.ExitCode);
        Assert.True(File.Exists(Path.Combine(t.Journal, "scoord.lock")), "the lock file stays behind");
        Assert.True(File.Exists(Path.Combine(t.Journal, "control.sock")), "the socket file of the killed coordinator stays behind");

        using Process next = FaultSupport.Start(t, null, "run", "--", "sh", "-c", "touch ready; while [ ! -e go ]; do sleep 0.05; done");

        using IDisposable killNext = FaultSupport.KillAtEnd(next);
        FaultSupport.WaitFor(() => File.Exists(t.Path("ready")), "the new run");
        // The new coordinator answers on the socket: the checkpoint goes through it, inside the app's run.
        CliResult ckpt = t.Cli.Run("checkpoint", "--name", "after-crash");
        Assert.True(ckpt.ExitCode == 0, ckpt.ToString());
        File.WriteAllText(t.Path("go"), string.Empty);
        Assert.True(next.WaitForExit(30_000));
        Assert.True(next.ExitCode == 0, next.StandardError.ReadToEnd());
        Assert.False(File.Exists(Path.Combine(t.Journal, "control.sock")), "the socket is removed when the run ends");
        Assert.Contains(t.Log(), l => l.Op == "checkpoint" && l.Path2 == "after-crash");
    }
}
