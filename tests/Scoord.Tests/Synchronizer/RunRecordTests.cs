using RocksDbSharp;
using Scoord.Coordinator;
using Scoord.Coordinator.Restore;
using Scoord.Journal;
using Scoord.Tests.Support;

namespace Scoord.Tests.Synchronizer;

/// <summary>Run records in the meta family: append-only, "run/" + u64 BE id, the end under ".../end".</summary>
public sealed class RunRecordTests
{
    private static RunRecord Sample(string cmd) => new()
    {
        StartTimeNs = 1_700_000_000_000_000_000,
        Argv = [cmd, "--x", "ü ∂"],
        Cwd = "/tmp/work",
        Environment = new Dictionary<string, string> { ["A"] = "1", ["EMPTY"] = string.Empty, ["PATH"] = "/usr/bin:/bin" },
        CoordinatorPid = 42,
        Options = new Dictionary<string, IReadOnlyList<string>> { ["app-checkpoint"] = ["/tmp/work/**/state.json"], ["only"] = [] },
    };

    [Fact]
    public void Append_AssignsIdsAndStartSeq_AndReadsBackWithTheEnd()
    {
        using var tree = new TempTree();
        string dir = tree.Combine("j");
        using (JournalStore store = JournalStore.OpenForWriting(dir))
        {
            RunRecord first = store.AppendRunRecord(Sample("one"));
            Assert.Equal(1UL, first.Id);
            Assert.Equal(store.Sequences.Last, first.StartSeq);

            store.Writer.AppendCheckpoint("between", 1);
            store.Writer.Commit(sync: true);
            store.AppendRunEnd(first.Id, 7, 1_700_000_001_000_000_000);

            RunRecord second = store.AppendRunRecord(Sample("two") with { RestoredFrom = 1 });
            Assert.Equal(2UL, second.Id);
            Assert.True(second.StartSeq > first.StartSeq);
        }

        using JournalStore ro = JournalStore.OpenReadOnly(dir);
        IReadOnlyList<RunRecord> runs = ro.ReadRunRecords();
        Assert.Equal(2, runs.Count);
        Assert.Equal(["one", "--x", "ü ∂"], runs[0].Argv);
        Assert.Equal("/tmp/work", runs[0].Cwd);
        Assert.Equal("1", runs[0].Environment["A"]);
        Assert.Equal(string.Empty, runs[0].Environment["EMPTY"]);
        Assert.Equal(["/tmp/work/**/state.json"], runs[0].OptionValues("app-checkpoint"));
        Assert.Empty(runs[0].OptionValues("only"));
        Assert.Null(runs[0].Option("on-checkpoint"));
        Assert.Equal(7, runs[0].ExitStatus);
        Assert.Equal(1_700_000_001_000_000_000, runs[0].EndTimeNs);
        Assert.Null(runs[0].RestoredFrom);
        Assert.Null(runs[1].ExitStatus);
        Assert.Equal(1, runs[1].RestoredFrom);

        CheckpointInfo between = ro.Reader.FindCheckpoint("between");
        Assert.Equal(1UL, ro.RunBefore(between.Seq)!.Id);
        Assert.Equal(2UL, ro.RunBefore(ulong.MaxValue)!.Id);
        Assert.Null(ro.RunBefore(0));
    }

    [Fact]
    public void Keys_AreRunSlashBigEndianId_AndTheEndSortsRightAfter()
    {
        Assert.Equal("run/"u8.ToArray().Concat(new byte[] { 0, 0, 0, 0, 0, 0, 1, 2 }), RunRecords.Key(258, end: false));
        Assert.Equal("run/"u8.ToArray().Concat(new byte[] { 0, 0, 0, 0, 0, 0, 0, 1 }).Concat("/end"u8.ToArray()), RunRecords.Key(1, end: true));
    }

    [Fact]
    public void AReadOnlyStore_CannotAppend()
    {
        using var tree = new TempTree();
        string dir = tree.Combine("j");
        using (JournalStore.OpenForWriting(dir))
        {
        }

        using JournalStore ro = JournalStore.OpenReadOnly(dir);
        Assert.Throws<InvalidOperationException>(() => ro.AppendRunRecord(Sample("x")));
        Assert.Empty(ro.ReadRunRecords());
    }

    [Fact]
    public void ADamagedRecord_IsReportedAsDamage()
    {
        using var tree = new TempTree();
        string dir = tree.Combine("j");
        using (JournalStore store = JournalStore.OpenForWriting(dir))
        {
            store.AppendRunRecord(Sample("one"));
            store.Db.Put(RunRecords.Key(2, end: false), "{\"v\":1,\"id\":2,"u8.ToArray(), store.Family("meta"));
        }

        using JournalStore ro = JournalStore.OpenReadOnly(dir);
        JournalException e = Assert.Throws<JournalException>(() => ro.ReadRunRecords());
        Assert.Contains("run record 2 in meta is damaged", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RunOptions_RoundTripThroughTheRecord()
    {
        var options = new RunOptions
        {
            JournalDirectory = "/j",
            Command = ["python3", "prog.py"],
            AppCheckpoint = ["/w/**/state.json", "/w/*.pkl"],
            Only = ["/w"],
            Exclude = ["/w/tmp"],
            OnCheckpoint = "echo hi",
            Durability = Durability.SyncPoints,
            CheckpointEvery = TimeSpan.FromMilliseconds(1500),
            CheckpointSignal = 10,
            CheckpointTimeout = TimeSpan.FromSeconds(5),
            Memory = MemoryProvider.App,
        };
        var record = new RunRecord { Argv = options.Command, Cwd = "/w", Environment = new Dictionary<string, string>(), Options = RunRecorder.OptionsOf(options) };
        RunRecord decoded = RunRecords.DecodeStart("/j", 0, RunRecords.EncodeStart(record));
        RunOptions back = RunRecorder.ToRunOptions(decoded, "/j2", ["other"]);
        Assert.Equal(options with { JournalDirectory = "/j2", Command = back.Command }, back with { AppCheckpoint = options.AppCheckpoint, Only = options.Only, Exclude = options.Exclude });
        Assert.Equal(options.AppCheckpoint, back.AppCheckpoint);
        Assert.Equal(options.Only, back.Only);
        Assert.Equal(options.Exclude, back.Exclude);
        Assert.Equal(["other"], back.Command);
    }
}
