using Scoord.Cli;
using Scoord.Cli.Commands;
using Scoord.Coordinator;
using Scoord.Coordinator.Restore;

namespace Scoord.Tests.Synchronizer;

/// <summary>Option parsing of the synchronizer: signals, globs, durations, criu's error line.</summary>
public sealed class SynchronizerUnitTests
{
    [Theory]
    [InlineData("USR1", 10)]
    [InlineData("SIGUSR1", 10)]
    [InlineData("usr2", 12)]
    [InlineData("10", 10)]
    [InlineData("HUP", 1)]
    [InlineData("RTMIN+2", 36)]
    [InlineData("SIGRTMIN", 34)]
    public void Signals_Parse(string text, int expected)
    {
        Assert.True(Signals.TryParse(text, out int sig, out string? error), error);
        Assert.Equal(expected, sig);
    }

    [Theory]
    [InlineData("KILL")]
    [InlineData("SIGSTOP")]
    [InlineData("0")]
    [InlineData("65")]
    [InlineData("USR3")]
    [InlineData("")]
    public void Signals_Refuse(string text)
    {
        Assert.False(Signals.TryParse(text, out _, out string? error));
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Fact]
    public void TimeoutMessage_IsTheDocumentedLine()
    {
        Assert.Equal("scoord: the app wrote no checkpoint file within 60s of SIGUSR1", CheckpointSignalTimer.TimeoutMessage(TimeSpan.FromSeconds(60), 10));
        Assert.Equal("scoord: the app wrote no checkpoint file within 300ms of SIGUSR2", CheckpointSignalTimer.TimeoutMessage(TimeSpan.FromMilliseconds(300), 12));
        Assert.Equal("1.5s", CheckpointSignalTimer.DurationText(TimeSpan.FromMilliseconds(1500)));
        Assert.Equal("5m", CheckpointSignalTimer.DurationText(TimeSpan.FromMinutes(5)));
    }

    [Fact]
    public void AppCheckpointGlobs_AreMadeAbsolute_WithTheCwdQuoted()
    {
        Assert.Equal(
            ["/w/d/**/state.json", "/w/d/state/*.pkl", "/abs/x.ckpt", "/w/other/s.json"],
            RunCommand.AbsoluteGlobs(["**/state.json", "./state/*.pkl", "/abs/x.ckpt", "../other/s.json"], "/w/d"));
        Assert.Equal(["/w/a\\[1\\]/x"], RunCommand.AbsoluteGlobs(["x"], "/w/a[1]"));
        Assert.True(PathGlob.Parse(RunCommand.AbsoluteGlobs(["x"], "/w/a[1]")[0]).IsMatch("/w/a[1]/x"));
        Assert.Throws<UsageException>(() => RunCommand.AbsoluteGlobs([string.Empty], "/w"));
        Assert.Empty(RunCommand.AbsoluteGlobs(null, "/w"));
    }

    [Fact]
    public void AnAbsoluteGlob_MatchesTheFilesItShould()
    {
        string glob = RunCommand.AbsoluteGlobs(["**/state.json"], "/w/d")[0];
        PathGlob g = PathGlob.Parse(glob);
        Assert.True(g.IsMatch("/w/d/state.json"));
        Assert.True(g.IsMatch("/w/d/sub/state.json"));
        Assert.False(g.IsMatch("/w/state.json"));
        Assert.False(g.IsMatch("/w/d/state.json.tmp"));
    }

    [Fact]
    public void CriuFirstError_SkipsTheHelpersExitLines()
    {
        const string output = """
            Error (criu/util.c:642): exited, status=1
            Error (criu/util.c:642): exited, status=1
            Error (criu/vdso.c:381): vdso: Unexpected rt vDSO area bounds
            Error (criu/vdso.c:613): vdso: Failed to fill self vdso symtable
            """;
        Assert.Equal("vdso: Unexpected rt vDSO area bounds", CriuProbe.FirstError(output, 1));
        Assert.Equal("exited, status=1", CriuProbe.FirstError("Error (a.c:1): exited, status=1\n", 1));
        Assert.Equal("something odd", CriuProbe.FirstError("\nsomething odd\n", 1));
        Assert.Equal("exit status 1, no output", CriuProbe.FirstError(string.Empty, 1));
    }

    [Fact]
    public void MemoryProviderCheck_RefusesAppWithoutGlobs_AndSignalWithoutTimer()
    {
        Assert.Throws<Scoord.Journal.ScoordException>(() => MemoryProviderCheck.Ensure(new RunOptions { JournalDirectory = "/j", Command = ["x"], Memory = MemoryProvider.App }));
        Assert.Throws<Scoord.Journal.ScoordException>(() => MemoryProviderCheck.Ensure(new RunOptions { JournalDirectory = "/j", Command = ["x"], AppCheckpoint = ["/a"], CheckpointSignal = 10 }));
        MemoryProviderCheck.Ensure(new RunOptions { JournalDirectory = "/j", Command = ["x"], AppCheckpoint = ["/a"], CheckpointSignal = 10, CheckpointEvery = TimeSpan.FromSeconds(1) });
    }
}
