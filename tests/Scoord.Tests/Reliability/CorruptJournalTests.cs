using System.Buffers.Binary;
using RocksDbSharp;
using Scoord.Tests.Support;
using Scoord.Tests.Tracing;

namespace Scoord.Tests.Reliability;

/// <summary>
/// Damage inside a real journal (not a torn tail): `log` and `rollback` fail with one line naming the
/// record, and `scoord fsck` reports each damage on one line and exits non-zero, never crashing.
/// </summary>
public sealed class CorruptJournalTests
{
    /// <summary>A journal written by a real run: a checkpoint, then changes (intents, completions, undo).</summary>
    private static TracedRun MakeJournal()
    {
        var t = new TracedRun();
        FaultSupport.SetUpAndCheckpoint(t);
        CliResult run = t.Sh(FaultSupport.Changes);
        Assert.True(run.ExitCode == 0, run.ToString());
        return t;
    }

    private static RocksDb OpenRaw(string journal)
    {
        var families = new ColumnFamilies();
        foreach (string name in new[] { "meta", "ops", "results", "procs", "checkpoints", "undo", "memory" })
        {
            families.Add(name, new ColumnFamilyOptions());
        }

        return RocksDb.Open(new DbOptions(), Path.Combine(journal, "db"), families);
    }

    private static string LargestSstOf(RocksDb db, string family, string dbDir)
    {
        IntPtr files = Native.Instance.rocksdb_livefiles(db.Handle);
        try
        {
            string? best = null;
            ulong bestSize = 0;
            int n = Native.Instance.rocksdb_livefiles_count(files);
            for (int i = 0; i < n; i++)
            {
                string? cf = System.Runtime.InteropServices.Marshal.PtrToStringUTF8(Native.Instance.rocksdb_livefiles_column_family_name(files, i));
                ulong size = (ulong)Native.Instance.rocksdb_livefiles_size(files, i);
                if (cf == family && size >= bestSize)
                {
                    best = System.Runtime.InteropServices.Marshal.PtrToStringUTF8(Native.Instance.rocksdb_livefiles_name(files, i));
                    bestSize = size;
                }
            }

            Assert.NotNull(best);
            return Path.Combine(dbDir, best.TrimStart('/'));
        }
        finally
        {
            Native.Instance.rocksdb_livefiles_destroy(files);
        }
    }

    private static byte[] SeqKey(ulong seq)
    {
        byte[] key = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(key, seq);
        return key;
    }

    /// <summary>The seq of the first `write` the app made after the checkpoint.</summary>
    private static ulong SeqOfAWrite(TracedRun t) =>
        t.Log().First(l => l.Op == "write" && l.Checkpoint == 1 && l.Status == "completed").Seq;

    private static void AssertOneLineError(CliResult r, string mustContain)
    {
        Assert.True(r.ExitCode != 0, r.ToString());
        Assert.True(r.StderrLines.Length == 1, r.ToString());
        Assert.Contains(mustContain, r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
        Assert.DoesNotContain("internal error", r.Stderr);
    }

    [Fact]
    public void CleanJournal_FsckSaysClean_ExitZero()
    {
        using TracedRun t = MakeJournal();
        CliResult fsck = t.Cli.Run("fsck");
        Assert.True(fsck.ExitCode == 0, fsck.ToString());
        Assert.Single(fsck.StdoutLines);
        Assert.EndsWith(": clean", fsck.StdoutLines[0]);
        Assert.Contains("1 checkpoints", fsck.Stdout);
    }

    [Fact]
    public void DamagedIntent_LogAndRollbackNameTheRecord_FsckReportsIt()
    {
        using TracedRun t = MakeJournal();
        ulong seq = SeqOfAWrite(t);
        using (RocksDb db = OpenRaw(t.Journal))
        {
            ColumnFamilyHandle ops = db.GetColumnFamily("ops");
            byte[] value = db.Get(SeqKey(seq), ops);
            value[20] ^= 0x10; // inside the payload: the CRC no longer matches
            db.Put(SeqKey(seq), value, ops);
        }

        string what = $"record seq {seq} in ops is damaged (checksum mismatch)";
        AssertOneLineError(t.Cli.Run("log"), what);
        AssertOneLineError(t.Cli.Run("log", "--json"), what);
        AssertOneLineError(t.Cli.Run("rollback", "1"), what);

        CliResult fsck = t.Cli.Run("fsck");
        Assert.Equal(1, fsck.ExitCode);
        Assert.Contains($"damaged: ops seq {seq}: checksum mismatch", fsck.StdoutLines);
        // Its completion and undo items now point at a record that is not an intent.
        Assert.Contains($"damaged: results seq {seq}: completion without an intent in ops", fsck.StdoutLines);
        Assert.EndsWith(" damaged", fsck.StdoutLines[^1]);
        Assert.Empty(fsck.Stderr);
    }

    [Fact]
    public void DamagedCompletionUndoAndCheckpoint_AreEachReportedOnOneLine()
    {
        using TracedRun t = MakeJournal();
        ulong seq = SeqOfAWrite(t);
        ulong undoSeq;
        uint undoPart;
        using (RocksDb db = OpenRaw(t.Journal))
        {
            ColumnFamilyHandle results = db.GetColumnFamily("results");
            byte[] completion = db.Get(SeqKey(seq), results);
            completion[^1] ^= 0xFF; // the CRC itself
            db.Put(SeqKey(seq), completion, results);

            // Garbage in place of the first undo item.
            ColumnFamilyHandle undo = db.GetColumnFamily("undo");
            using (Iterator it = db.NewIterator(undo))
            {
                it.SeekToFirst();
                Assert.True(it.Valid());
                byte[] key = it.Key();
                undoSeq = BinaryPrimitives.ReadUInt64BigEndian(key);
                undoPart = BinaryPrimitives.ReadUInt32BigEndian(key.AsSpan(8));
                db.Put(key, "not an undo record"u8.ToArray(), undo);
            }

            // A completion whose intent does not exist, and a checkpoint row pointing past the end.
            db.Put(SeqKey(999_999), db.Get(SeqKey(seq + 1), results) ?? db.Get(SeqKey(seq - 1), results), results);
            ColumnFamilyHandle ckpts = db.GetColumnFamily("checkpoints");
            byte[] id1 = [0, 0, 0, 1];
            byte[] ckpt = db.Get(id1, ckpts);
            db.Put(new byte[] { 0, 0, 0, 7 }, ckpt, ckpts);
        }

        CliResult fsck = t.Cli.Run("fsck");
        Assert.Equal(1, fsck.ExitCode);
        Assert.Contains($"damaged: results seq {seq}: checksum mismatch", fsck.StdoutLines);
        Assert.Contains(fsck.StdoutLines, l => l.StartsWith($"damaged: undo seq {undoSeq} part {undoPart}: ", StringComparison.Ordinal));
        Assert.Contains("damaged: results seq 999999: completion without an intent in ops", fsck.StdoutLines);
        Assert.Contains("damaged: checkpoints id 7: the record says id 1", fsck.StdoutLines);
        Assert.EndsWith(" 4 damaged", fsck.StdoutLines[^1]);
        Assert.Equal(5, fsck.StdoutLines.Length);
    }

    [Fact]
    public void DamageInsideAnSstFile_FsckAndLogReportIt_WithoutCrashing()
    {
        using TracedRun t = MakeJournal();
        // More records, so that the ops family makes an SST file of several blocks once compacted.
        CliResult many = t.Sh("for i in $(seq 1 400); do echo $i > d/m$i; done");
        Assert.True(many.ExitCode == 0, many.ToString());
        string sst;
        using (RocksDb db = OpenRaw(t.Journal))
        {
            db.CompactRange(default(byte[]), null, db.GetColumnFamily("ops"));
            // The largest SST file of the ops family (the others do not matter to `log`).
            sst = LargestSstOf(db, "ops", Path.Combine(t.Journal, "db"));
        }

        using (var fs = new FileStream(sst, FileMode.Open, FileAccess.ReadWrite))
        {
            long at = fs.Length / 6; // data blocks come first
            byte[] chunk = new byte[16];
            fs.Position = at;
            fs.ReadExactly(chunk);
            for (int i = 0; i < chunk.Length; i++)
            {
                chunk[i] ^= 0xFF;
            }

            fs.Position = at;
            fs.Write(chunk);
        }

        CliResult log = t.Cli.Run("log");
        AssertOneLineError(log, "Corruption");

        CliResult fsck = t.Cli.Run("fsck");
        Assert.True(fsck.ExitCode == 1, fsck.ToString());
        Assert.Contains(fsck.StdoutLines, l => l.StartsWith("damaged: ", StringComparison.Ordinal) && l.Contains("Corruption", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain("   at ", fsck.Stderr);
    }

    [Fact]
    public void Fsck_WhileACoordinatorRuns_IsRefusedWithOneLine()
    {
        using var t = new TracedRun();
        using System.Diagnostics.Process run = FaultSupport.Start(t, null, "run", "--", "sh", "-c", "touch ready; while [ ! -e go ]; do sleep 0.05; done");
        using IDisposable killRun = FaultSupport.KillAtEnd(run);
        FaultSupport.WaitFor(() => File.Exists(t.Path("ready")), "the run");
        AssertOneLineError(t.Cli.Run("fsck"), "in use");
        File.WriteAllText(t.Path("go"), string.Empty);
        Assert.True(run.WaitForExit(30_000));
    }
}
