using System.Buffers.Binary;
using System.Text;
using RocksDbSharp;
using Scoord.Interceptors.Syscalls;
using Scoord.Journal;
using Scoord.Journal.Codec;
using Scoord.Journal.Model;
using Xunit;

namespace Scoord.Tests.Journal;

public class JournalStoreTests
{
    [Fact]
    public void Group_commit_of_many_records_reads_back_in_seq_order_with_results_merged()
    {
        using var tmp = new TempDir();
        string dir = tmp.Sub("j");
        var seqs = new List<ulong>();
        using (JournalStore store = JournalStore.OpenForWriting(dir))
        {
            JournalWriter w = store.Writer;
            for (int i = 0; i < 500; i++)
            {
                seqs.Add(w.AppendIntent(Samples.Intent(i), Samples.PathOf(i), default));
            }

            Assert.Equal(500, w.PendingRecords);
            for (int i = 0; i < 500; i++)
            {
                w.AppendCompletion(seqs[i], Samples.Completion(i, errno: i % 10 == 0 ? 2 : 0));
            }

            w.Commit(sync: true);
            Assert.Equal(0, w.PendingRecords);
            Assert.True(w.BytesWritten > 500 * 100);
        }

        Assert.Equal(Enumerable.Range(1, 500).Select(i => (ulong)i), seqs);
        using JournalStore ro = JournalStore.OpenReadOnly(dir);
        List<JournalEntry> entries = ro.Reader.Read().ToList();
        Assert.Equal(seqs, entries.Select(e => e.Seq));
        for (int i = 0; i < 500; i++)
        {
            JournalEntry e = entries[i];
            Assert.Equal(Samples.PathOf(i), e.Path);
            Assert.Equal("openat", e.OpName);
            if (i % 10 == 0)
            {
                Assert.Equal(EntryStatus.Failed, e.Status);
                Assert.Equal("ENOENT", e.ErrnoName);
            }
            else
            {
                Assert.Equal(EntryStatus.Completed, e.Status);
                Assert.Equal(3, e.Result);
                Assert.Null(e.ErrnoName);
            }
        }

        Assert.Equal(500UL, ro.Reader.LastSeq);
        Assert.Equal(seqs.Skip(99), ro.Reader.Read(100).Select(e => e.Seq));
    }

    [Fact]
    public void Intent_without_completion_reads_back_as_pending_and_refused_as_failed()
    {
        using var tmp = new TempDir();
        string dir = tmp.Sub("j");
        using (JournalStore store = JournalStore.OpenForWriting(dir))
        {
            JournalWriter w = store.Writer;
            w.AppendIntent(Samples.Intent(1, OpCode.Unlink), "/a"u8, default);
            OpIntent refused = Samples.Intent(2, OpCode.IoUringSetup);
            refused.Flags = IntentFlags.Refused;
            refused.InjectedErrno = 38;
            w.AppendIntent(refused, default, default);
            ulong rename = w.AppendIntent(Samples.Intent(3, OpCode.Renameat2), "/old"u8, "/new"u8);
            w.AppendCompletion(rename, Samples.Completion(3));
            w.Commit(sync: false);
        }

        using JournalStore ro = JournalStore.OpenReadOnly(dir);
        List<JournalEntry> e = ro.Reader.Read().ToList();
        Assert.Equal(EntryStatus.Pending, e[0].Status);
        Assert.Null(e[0].Result);
        Assert.Null(e[0].Errno);
        Assert.Equal(EntryStatus.Failed, e[1].Status);
        Assert.Equal("ENOSYS", e[1].ErrnoName);
        Assert.Equal("io_uring_setup", e[1].OpName);
        Assert.Equal(EntryStatus.Completed, e[2].Status);
        Assert.Equal("/old", e[2].PathText);
        Assert.Equal("/new", e[2].Path2Text);

        JournalStats stats = ro.Reader.GetStats();
        Assert.Equal(3, stats.Operations);
        Assert.Equal(1, stats.Completed);
        Assert.Equal(1, stats.Failed);
        Assert.Equal(1, stats.Pending);
        Assert.Equal(3UL, stats.LastSeq);
        Assert.True(stats.BytesOnDisk > 0);
    }

    [Fact]
    public void Process_events_share_the_seq_space_and_are_indexed_by_pid()
    {
        using var tmp = new TempDir();
        string dir = tmp.Sub("j");
        using (JournalStore store = JournalStore.OpenForWriting(dir))
        {
            JournalWriter w = store.Writer;
            w.AppendProcess(new ProcessEvent { Kind = OpCode.Exec, Pid = 77, TimeNs = 5 }, "/bin/sh"u8, "sh\0-c\0echo hi\0"u8);
            w.AppendIntent(Samples.Intent(1), "/f"u8, default);
            w.AppendProcess(new ProcessEvent { Kind = OpCode.Exit, Pid = 77, ExitCode = 0, TimeNs = 9 }, default, default);
            w.Commit(sync: false);
        }

        using JournalStore ro = JournalStore.OpenReadOnly(dir);
        List<JournalEntry> e = ro.Reader.Read().ToList();
        Assert.Equal([1UL, 2UL, 3UL], e.Select(x => x.Seq));
        Assert.True(e[0].IsProcessEvent);
        Assert.Equal("exec", e[0].OpName);
        Assert.Equal(["sh", "-c", "echo hi"], e[0].Argv);
        Assert.Equal(EntryStatus.Completed, e[0].Status);
        Assert.Equal("exit", e[2].OpName);
        Assert.Equal([1UL, 3UL], ro.Reader.ProcessEventSeqs(77));
        Assert.Empty(ro.Reader.ProcessEventSeqs(78));
        Assert.Equal(2, ro.Reader.GetStats().ProcessEvents);
    }

    [Fact]
    public void Reopening_continues_the_sequence_after_the_last_committed_record()
    {
        using var tmp = new TempDir();
        string dir = tmp.Sub("j");
        using (JournalStore store = JournalStore.OpenForWriting(dir))
        {
            store.Writer.AppendIntent(Samples.Intent(1), "/a"u8, default);
            store.Writer.AppendIntent(Samples.Intent(2), "/b"u8, default);
            store.Writer.Commit(sync: false);
        }

        using (JournalStore store = JournalStore.OpenForWriting(dir))
        {
            Assert.Equal(2UL, store.Sequences.Last);
            Assert.Equal(3UL, store.Writer.AppendIntent(Samples.Intent(3), "/c"u8, default));
            store.Writer.Commit(sync: false);
        }
    }

    [Fact]
    public void Opens_for_writing_keep_a_few_wal_files_unflushed_then_flush_them_and_lose_no_record()
    {
        using var tmp = new TempDir();
        string dir = tmp.Sub("j");
        var counts = new List<int>();
        for (int i = 0; i < 12; i++)
        {
            using (JournalStore store = JournalStore.OpenForWriting(dir))
            {
                counts.Add(Directory.GetFiles(Path.Combine(dir, "db"), "*.log").Length);
                store.Writer.AppendIntent(Samples.Intent(i), Samples.PathOf(i), default);
                store.Writer.Commit(sync: false);
            }
        }

        // Each open starts a WAL file; the replayed ones stay unflushed (no level-0 table written by the
        // open) until 4 have gathered, and that open flushes them: never more than 5 at once, never 1 for good.
        Assert.True(counts.Max() <= 5, string.Join(",", counts));
        Assert.Contains(counts, c => c >= 3);
        using JournalStore ro = JournalStore.OpenReadOnly(dir);
        Assert.Equal(12, ro.Reader.Read().Count());
    }

    [Fact]
    public void Crash_image_of_an_undisposed_writer_reads_back_every_committed_record()
    {
        using var tmp = new TempDir();
        string dir = tmp.Sub("j");
        string copy = tmp.Sub("crash-image");
        JournalStore store = JournalStore.OpenForWriting(dir);
        try
        {
            for (int i = 0; i < 200; i++)
            {
                ulong seq = store.Writer.AppendIntent(Samples.Intent(i), Samples.PathOf(i), default);
                if (i % 2 == 0)
                {
                    store.Writer.AppendCompletion(seq, Samples.Completion(i));
                }

                if (i % 16 == 15)
                {
                    store.Writer.Commit(sync: false); // no fsync: the WAL is in the page cache, as after a kill -9
                }
            }

            store.Writer.Commit(sync: false);
            store.Writer.AppendIntent(Samples.Intent(999), "/never-committed"u8, default);

            // The files as they are while the writer is alive and holds its locks = what kill -9 leaves.
            Samples.CopyDirectory(dir, copy);
        }
        finally
        {
            GC.KeepAlive(store); // deliberately not disposed before the copy
        }

        using (JournalStore recovered = JournalStore.OpenForWriting(copy))
        {
            List<JournalEntry> entries = recovered.Reader.Read().ToList();
            Assert.Equal(200, entries.Count);
            Assert.Equal(Enumerable.Range(1, 200).Select(i => (ulong)i), entries.Select(e => e.Seq));
            for (int i = 0; i < 200; i++)
            {
                Assert.Equal(i % 2 == 0 ? EntryStatus.Completed : EntryStatus.Pending, entries[i].Status);
                Assert.Equal(Samples.PathOf(i), entries[i].Path);
            }

            Assert.Equal(201UL, recovered.Writer.AppendIntent(Samples.Intent(201), "/next"u8, default));
        }

        store.Dispose();
    }

    [Fact]
    public void Second_writer_on_the_same_journal_fails_with_in_use_and_the_pid()
    {
        using var tmp = new TempDir();
        string dir = tmp.Sub("j");
        using JournalStore first = JournalStore.OpenForWriting(dir);
        var ex = Assert.Throws<JournalException>(() => JournalStore.OpenForWriting(dir));
        Assert.Equal($"journal {dir} is in use by scoord (pid {Environment.ProcessId})", ex.Message);
        Assert.True(JournalStore.IsCoordinatorRunning(dir, out int pid));
        Assert.Equal(Environment.ProcessId, pid);
    }

    [Fact]
    public void Lock_is_released_on_dispose()
    {
        using var tmp = new TempDir();
        string dir = tmp.Sub("j");
        JournalStore.OpenForWriting(dir).Dispose();
        Assert.False(JournalStore.IsCoordinatorRunning(dir, out _));
        using JournalStore again = JournalStore.OpenForWriting(dir);
        Assert.True(JournalStore.IsCoordinatorRunning(dir, out _));
    }

    [Fact]
    public void Reader_while_a_coordinator_runs_uses_a_secondary_and_catches_up()
    {
        using var tmp = new TempDir();
        string dir = tmp.Sub("j");
        using JournalStore writer = JournalStore.OpenForWriting(dir);
        writer.Writer.AppendIntent(Samples.Intent(1), "/a"u8, default);
        writer.Writer.Commit(sync: false);

        string? secondaryDir;
        using (JournalStore reader = JournalStore.OpenReadOnly(dir))
        {
            Assert.True(reader.IsSecondary);
            Assert.Single(reader.Reader.Read());
            writer.Writer.AppendIntent(Samples.Intent(2), "/b"u8, default);
            writer.Writer.Commit(sync: false);
            reader.CatchUp();
            Assert.Equal(2, reader.Reader.Read().Count());
            Assert.Throws<InvalidOperationException>(() => reader.Writer);
            secondaryDir = Directory.GetDirectories(Path.GetTempPath(), $"scoord-secondary-{Environment.ProcessId}-*").FirstOrDefault();
            Assert.NotNull(secondaryDir);
        }

        Assert.False(Directory.Exists(secondaryDir));
    }

    [Fact]
    public void Newer_format_version_in_meta_is_rejected()
    {
        using var tmp = new TempDir();
        string dir = tmp.Sub("j");
        JournalStore.OpenForWriting(dir).Dispose();
        using (RocksDb db = OpenRaw(dir))
        {
            byte[] two = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(two, 2);
            db.Put("format"u8, two, db.GetColumnFamily("meta"));
        }

        var ex = Assert.Throws<JournalException>(() => JournalStore.OpenReadOnly(dir));
        Assert.Equal($"journal at {dir} has format version 2; this scoord reads up to 1", ex.Message);
        var ex2 = Assert.Throws<JournalException>(() => JournalStore.OpenForWriting(dir));
        Assert.Equal(ex.Message, ex2.Message);
    }

    [Fact]
    public void Newer_format_version_in_the_marker_is_rejected()
    {
        using var tmp = new TempDir();
        string dir = tmp.Sub("j");
        JournalStore.OpenForWriting(dir).Dispose();
        File.WriteAllText(Path.Combine(dir, "SCOORD"), "scoord journal\nformat 7\n");
        var ex = Assert.Throws<JournalException>(() => JournalStore.OpenForWriting(dir));
        Assert.Equal($"journal at {dir} has format version 7; this scoord reads up to 1", ex.Message);
    }

    [Fact]
    public void Foreign_directory_is_rejected_and_left_untouched()
    {
        using var tmp = new TempDir();
        string dir = tmp.Sub("photos");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "cat.jpg"), "meow");
        var ex = Assert.Throws<JournalException>(() => JournalStore.OpenForWriting(dir));
        Assert.Equal($"{dir} is not a scoord journal", ex.Message);
        var ex2 = Assert.Throws<JournalException>(() => JournalStore.OpenReadOnly(dir));
        Assert.Equal(ex.Message, ex2.Message);
        Assert.Equal(["cat.jpg"], Directory.GetFileSystemEntries(dir).Select(Path.GetFileName));
    }

    [Fact]
    public void Missing_journal_is_reported_to_readers_with_a_hint()
    {
        using var tmp = new TempDir();
        string dir = tmp.Sub("nothing-here");
        var ex = Assert.Throws<JournalException>(() => JournalStore.OpenReadOnly(dir));
        Assert.Equal($"no journal at {dir} (run `scoord run` first, or pass --journal)", ex.Message);
        Assert.False(Directory.Exists(dir));
    }

    [Fact]
    public void Damaged_record_value_gives_a_clear_journal_exception()
    {
        using var tmp = new TempDir();
        string dir = tmp.Sub("j");
        using (JournalStore store = JournalStore.OpenForWriting(dir))
        {
            for (int i = 0; i < 3; i++)
            {
                store.Writer.AppendIntent(Samples.Intent(i), Samples.PathOf(i), default);
            }

            store.Writer.Commit(sync: true);
        }

        using (RocksDb db = OpenRaw(dir))
        {
            ColumnFamilyHandle ops = db.GetColumnFamily("ops");
            byte[] key = new byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(key, 2);
            byte[] value = db.Get(key, ops);
            value[30] ^= 0x40; // one flipped bit inside the payload
            db.Put(key, value, ops);
        }

        using JournalStore ro = JournalStore.OpenReadOnly(dir);
        var ex = Assert.Throws<JournalException>(() => ro.Reader.Read().ToList());
        Assert.Equal($"journal {dir}: record seq 2 in ops is damaged (checksum mismatch)", ex.Message);
    }

    [Fact]
    public void Damage_inside_an_sst_file_gives_a_clear_journal_exception()
    {
        using var tmp = new TempDir();
        string dir = tmp.Sub("j");
        using (JournalStore store = JournalStore.OpenForWriting(dir))
        {
            for (int i = 0; i < 2000; i++)
            {
                store.Writer.AppendIntent(Samples.Intent(i), Encoding.UTF8.GetBytes($"/data/{Guid.NewGuid()}/{i}"), default);
            }

            store.Writer.Commit(sync: true);
        }

        // Flush the memtables into SST files, so the data no longer lives in the WAL.
        using (RocksDb db = OpenRaw(dir))
        {
            db.CompactRange(default(byte[]), null, db.GetColumnFamily("ops"));
        }

        string sst = Directory.GetFiles(Path.Combine(dir, "db"), "*.sst").OrderByDescending(f => new FileInfo(f).Length).First();
        using (var fs = new FileStream(sst, FileMode.Open, FileAccess.ReadWrite))
        {
            // Data blocks come first; the middle of the first third is data, not the footer or index.
            long at = fs.Length / 6;
            fs.Position = at;
            byte[] chunk = new byte[16];
            fs.ReadExactly(chunk);
            for (int i = 0; i < chunk.Length; i++)
            {
                chunk[i] ^= 0xFF;
            }

            fs.Position = at;
            fs.Write(chunk);
        }

        var ex = Assert.Throws<JournalException>(() =>
        {
            using JournalStore ro = JournalStore.OpenReadOnly(dir);
            ro.Reader.Read().ToList();
        });
        Assert.StartsWith($"journal {dir}: ", ex.Message);
        Assert.Contains("Corruption", ex.Message, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("\n", ex.Message);
    }

    [Fact]
    public void Writer_steady_state_allocates_nothing_per_record()
    {
        using var tmp = new TempDir();
        using JournalStore store = JournalStore.OpenForWriting(tmp.Sub("j"));
        JournalWriter w = store.Writer;
        OpIntent intent = Samples.Intent(1);
        OpCompletion completion = Samples.Completion(1);
        byte[] path = Samples.PathOf(1);
        for (int i = 0; i < 100; i++)
        {
            ulong s = w.AppendIntent(intent, path, path);
            w.AppendCompletion(s, completion);
            w.Commit(sync: false);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            ulong s = w.AppendIntent(intent, path, path);
            w.AppendCompletion(s, completion);
            w.Commit(sync: false);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 1000, $"allocated {allocated} bytes for 1000 intent+completion commits");
    }

    private static RocksDb OpenRaw(string dir)
    {
        var families = new ColumnFamilies();
        foreach (string name in new[] { "meta", "ops", "results", "procs", "checkpoints", "undo", "memory" })
        {
            families.Add(name, new ColumnFamilyOptions());
        }

        return RocksDb.Open(new DbOptions(), Path.Combine(dir, "db"), families);
    }
}
