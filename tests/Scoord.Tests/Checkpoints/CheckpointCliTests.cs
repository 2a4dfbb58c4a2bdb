using System.Text.Json;
using Scoord.Journal;
using Scoord.Tests.Support;
using Scoord.Tests.Tracing;

namespace Scoord.Tests.Checkpoints;

/// <summary>`scoord checkpoint` / `scoord checkpoints` with nothing running, and checkpoints in `scoord log`.</summary>
public sealed class CheckpointCliTests
{
    [Fact]
    public void OfflineCheckpoints_GetIdsInOrder_AndAreListed()
    {
        using var run = new TracedRun();
        Assert.Equal(0, run.Sh("echo a > a.txt").ExitCode);

        CliResult first = run.Cli.Run("checkpoint");
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Equal(["1"], first.StdoutLines);
        Assert.Empty(first.Stderr);

        CliResult second = run.Cli.Run("checkpoint", "--name", "before-edit");
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Equal(["2"], second.StdoutLines);
        Assert.Equal(["3"], run.Cli.Run("checkpoint").StdoutLines);

        CliResult list = run.Cli.Run("checkpoints", "--json");
        Assert.True(list.ExitCode == 0, list.ToString());
        var rows = list.StdoutLines.Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal([1, 2, 3], rows.Select(r => r.GetProperty("id").GetInt32()));
        Assert.Equal(["ckpt-1", "before-edit", "ckpt-3"], rows.Select(r => r.GetProperty("name").GetString()));
        ulong[] seqs = [.. rows.Select(r => r.GetProperty("seq").GetUInt64())];
        Assert.True(seqs[0] < seqs[1] && seqs[1] < seqs[2]);
        foreach (JsonElement r in rows)
        {
            Assert.Equal(["id", "name", "seq", "time", "undo_bytes"], r.EnumerateObject().Select(p => p.Name));
            Assert.EndsWith("Z", r.GetProperty("time").GetString(), StringComparison.Ordinal);
            Assert.True(r.GetProperty("undo_bytes").GetInt64() >= 0);
        }

        CliResult table = run.Cli.Run("checkpoints");
        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Equal(4, table.StdoutLines.Length);
        Assert.Contains("before-edit", table.StdoutLines[2], StringComparison.Ordinal);
    }

    [Fact]
    public void DuplicateName_IsOneStderrLine_AndNonZero()
    {
        using var run = new TracedRun();
        Assert.Equal(0, run.Sh("true").ExitCode);
        Assert.Equal(0, run.Cli.Run("checkpoint", "--name", "x").ExitCode);

        CliResult again = run.Cli.Run("checkpoint", "--name", "x");
        Assert.NotEqual(0, again.ExitCode);
        Assert.Empty(again.Stdout);
        Assert.Equal(["scoord: checkpoint name 'x' is already taken"], again.StderrLines);

        CliResult digits = run.Cli.Run("checkpoint", "--name", "42");
        Assert.Equal(2, digits.ExitCode);
        Assert.Single(digits.StderrLines);

        // Nothing was written by the failures: the next id is still 2.
        Assert.Equal(["2"], run.Cli.Run("checkpoint").StdoutLines);
    }

    [Fact]
    public void NoJournalYet_CheckpointCreatesIt_AndRollbackToItUndoesTheFirstRun()
    {
        using var run = new TracedRun();
        File.WriteAllText(run.Path("existing.txt"), "before\n");
        CliResult first = run.Cli.Run("checkpoint", "--name", "clean");
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Equal(["1"], first.StdoutLines);
        Assert.True(Directory.Exists(run.Journal));

        Assert.Equal(0, run.Sh("echo after >> existing.txt; echo new > new.txt").ExitCode);
        CliResult back = run.Cli.Run("rollback", "clean");
        Assert.True(back.ExitCode == 0, back.ToString());
        Assert.Equal("before\n", File.ReadAllText(run.Path("existing.txt")));
        Assert.False(File.Exists(run.Path("new.txt")));
    }

    [Fact]
    public void ForeignDirectory_IsAnError_AndIsLeftAlone()
    {
        using var tree = new TempTree();
        string dir = tree.CreateDirectory("not-a-journal");
        File.WriteAllText(Path.Combine(dir, "precious.txt"), "x");
        CliResult r = new ScoordCli(dir, tree.Path).Run("checkpoint");
        Assert.Equal(1, r.ExitCode);
        Assert.Single(r.StderrLines);
        Assert.Equal(["precious.txt"], Directory.GetFileSystemEntries(dir).Select(Path.GetFileName));
    }

    [Fact]
    public void UnknownCheckpoint_Lookup_IsAJournalException()
    {
        using var run = new TracedRun();
        Assert.Equal(0, run.Sh("true").ExitCode);
        Assert.Equal(0, run.Cli.Run("checkpoint", "--name", "known").ExitCode);

        using JournalStore store = JournalStore.OpenReadOnly(run.Journal);
        Assert.Equal(1, store.Reader.FindCheckpoint("1").Id);
        Assert.Equal(1, store.Reader.FindCheckpoint("known").Id);
        JournalException byId = Assert.Throws<JournalException>(() => store.Reader.FindCheckpoint("7"));
        Assert.Equal($"no checkpoint '7' in journal {run.Journal}", byId.Message);
        JournalException byName = Assert.Throws<JournalException>(() => store.Reader.FindCheckpoint("nope"));
        Assert.Equal($"no checkpoint 'nope' in journal {run.Journal}", byName.Message);
        Assert.Throws<JournalException>(() => store.Reader.FindCheckpoint("99999999999999999999"));
    }

    [Fact]
    public void Log_ShowsCheckpointEvents_AndTheCheckpointKeyOfLaterLines()
    {
        using var run = new TracedRun();
        Assert.Equal(0, run.Sh("echo a > a.txt").ExitCode);
        Assert.Equal(["1"], run.Cli.Run("checkpoint", "--name", "first").StdoutLines);
        Assert.Equal(0, run.Sh("echo b > b.txt").ExitCode);
        Assert.Equal(["2"], run.Cli.Run("checkpoint").StdoutLines);
        Assert.Equal(0, run.Sh("echo c > c.txt").ExitCode);

        IReadOnlyList<LogLine> log = run.Log();
        foreach (LogLine line in log)
        {
            Assert.Equal(LogLine.RequiredKeys, line.Keys.Take(LogLine.RequiredKeys.Count));
        }

        LogLine[] checkpoints = [.. log.Where(l => l.Op == "checkpoint")];
        Assert.Equal(2, checkpoints.Length);
        Assert.Null(checkpoints[0].Path);
        Assert.Equal("first", checkpoints[0].Path2);
        Assert.Equal("ckpt-2", checkpoints[1].Path2);
        Assert.Equal(1, checkpoints[0].Result);
        Assert.Equal("completed", checkpoints[0].Status);
        Assert.Null(checkpoints[0].Checkpoint);
        Assert.Equal(1, checkpoints[1].Checkpoint);

        foreach (LogLine line in log.Where(l => l.Op != "checkpoint"))
        {
            long? expected = line.Seq < checkpoints[0].Seq ? null : line.Seq < checkpoints[1].Seq ? 1 : 2;
            Assert.Equal(expected, line.Checkpoint);
        }

        Assert.Contains(log, l => l.Path?.EndsWith("/b.txt", StringComparison.Ordinal) == true && l.Checkpoint == 1);
        Assert.Contains(log, l => l.Path?.EndsWith("/c.txt", StringComparison.Ordinal) == true && l.Checkpoint == 2);

        // --since-seq starts after the first checkpoint: the key still comes from the checkpoints family.
        IReadOnlyList<LogLine> tail = run.Log("--since-seq", checkpoints[0].Seq.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.All(tail.Where(l => l.Op != "checkpoint"), l => Assert.NotNull(l.Checkpoint));
        Assert.Equal(2, run.Log("--op", "checkpoint").Count);

        CliResult table = run.Cli.Run("log");
        Assert.Contains(table.StdoutLines, l => l.Contains("checkpoint 1 first", StringComparison.Ordinal));
    }
}
