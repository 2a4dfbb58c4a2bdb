using System.Text.Json;
using Scoord.Tests.Rollback;
using Scoord.Tests.Support;
using Scoord.Tests.Tracing;

namespace Scoord.Tests.Reliability;

/// <summary>
/// An exception of scoord's own while it handles one stop never takes the program down (issue 13): the op
/// fails with EIO, the program runs to its end, the journal has a fault record (`scoord log`), `scoord
/// status` counts it, and the rest of the run is journaled and rolls back exactly.
/// </summary>
public sealed class FaultIsolationTests
{
    // Five mkdirs, each result printed: "ok" or the errno name.
    private const string Program = """
        import os, errno, sys
        res = []
        for n in ['a', 'b', 'c', 'd', 'e']:
            try:
                os.mkdir(n)
                res.append('ok')
            except OSError as e:
                res.append(errno.errorcode[e.errno])
        print(' '.join(res))
        """;

    [Fact]
    public void DecoderThrows_TheOpFailsWithEio_TheProgramFinishes_AndTheJournalSaysWhatHappened()
    {
        using var t = new TracedRun();
        TreeSnapshot before = TreeSnapshot.Take(t.Tree.Path);
        Assert.Equal(0, t.Cli.Run("checkpoint", "--name", "before").ExitCode);
        string script = t.JournalTree.WriteFile("prog.py", Program);

        t.Cli.Environment["SCOORD_NO_FASTPATH"] = "1"; // the fault points are in the tracer: calls the fast path's hooks journal never reach them
        t.Cli.Environment["SCOORD_FAULT"] = "decode-throw:mkdir@3"; // the decoder throws at the third mkdir
        CliResult run = t.Run("python3", "-B", script);
        t.Cli.Environment.Remove("SCOORD_FAULT");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("ok ok EIO ok ok", run.Stdout.Trim());
        Assert.False(Directory.Exists(t.Path("c")), "the refused mkdir ran");
        Assert.True(Directory.Exists(t.Path("e")), "tracing stopped after the fault");
        // Logged once, with the syscall and its arguments.
        Assert.Single(run.StderrLines, l => l.Contains("scoord fault at the entry stop", StringComparison.Ordinal)
            && l.Contains("mkdir(0x", StringComparison.Ordinal) && l.Contains("EIO", StringComparison.Ordinal));

        IReadOnlyList<LogLine> log = t.Log();
        LogLine fault = Assert.Single(log, l => l.Fault);
        Assert.Equal("mkdir", fault.Op);
        Assert.Equal("EIO", fault.Errno);
        Assert.True(fault.Refused);
        Assert.Contains("decode-throw", fault.Path2, StringComparison.Ordinal);
        Assert.Equal(4, log.Count(l => l.Op == "mkdir" && l.Status == "completed"));
        CliResult table = t.Cli.Run("log", "--op", "mkdir");
        Assert.Contains("[scoord fault]", table.Stdout, StringComparison.Ordinal);

        CliResult status = t.Cli.Run("status", "--json");
        using (JsonDocument doc = JsonDocument.Parse(status.Stdout))
        {
            Assert.Equal(1, doc.RootElement.GetProperty("faults").GetInt64());
        }

        Assert.Contains("faults       1", t.Cli.Run("status").Stdout, StringComparison.Ordinal);

        CliResult rollback = t.Cli.Run("rollback", "before");
        Assert.True(rollback.ExitCode == 0, rollback.ToString());
        Assert.Equal(before.ToString(), TreeSnapshot.Take(t.Tree.Path).ToString());
    }

    [Fact]
    public void CompletionThrows_TheProgramGetsEio_AndTheRunGoesOn()
    {
        using var t = new TracedRun();
        TreeSnapshot before = TreeSnapshot.Take(t.Tree.Path);
        Assert.Equal(0, t.Cli.Run("checkpoint", "--name", "before").ExitCode);
        string script = t.JournalTree.WriteFile("prog.py", Program);

        t.Cli.Environment["SCOORD_NO_FASTPATH"] = "1"; // the fault points are in the tracer: calls the fast path's hooks journal never reach them
        t.Cli.Environment["SCOORD_FAULT"] = "complete-throw:mkdir@2"; // at the exit stop: the mkdir ran
        CliResult run = t.Run("python3", "-B", script);
        t.Cli.Environment.Remove("SCOORD_FAULT");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("ok EIO ok ok ok", run.Stdout.Trim());
        Assert.True(Directory.Exists(t.Path("e")));
        IReadOnlyList<LogLine> log = t.Log();
        Assert.Single(log, l => l.Fault && l.Op == "mkdir");
        // The op's own record keeps what the kernel did (it ran): rollback removes it too.
        Assert.Equal(5, log.Count(l => l.Op == "mkdir" && !l.Fault && l.Status == "completed"));
        CliResult rollback = t.Cli.Run("rollback", "before");
        Assert.True(rollback.ExitCode == 0, rollback.ToString());
        Assert.Equal(before.ToString(), TreeSnapshot.Take(t.Tree.Path).ToString());
    }
}
