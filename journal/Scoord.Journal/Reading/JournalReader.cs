using Scoord.Journal.Rocks;
using Scoord.Interceptors.Syscalls;
using Scoord.Journal.Codec;
using Scoord.Journal.Model;

namespace Scoord.Journal;

/// <summary>
/// Reads the journal in sequence order, merging "ops" with "results" (one iterator each, walked
/// side by side). Every value is checked (CRC32C, lengths); a damaged record is a
/// <see cref="JournalException"/> naming its sequence number and column family.
/// </summary>
public sealed partial class JournalReader
{
    private readonly JournalStore _store;

    internal JournalReader(JournalStore store) => _store = store;

    /// <summary>The highest sequence number in "ops" (0 for an empty journal).</summary>
    public ulong LastSeq
    {
        get
        {
            using Iterator it = NewIterator(JournalLayout.OpsFamily);
            it.SeekToLast();
            if (!it.Valid())
            {
                CheckIterator(it, JournalLayout.OpsFamily);
                return 0;
            }

            return SeqOf(it, JournalLayout.OpsFamily);
        }
    }

    /// <summary>Every event with seq ≥ <paramref name="fromSeq"/>, in seq order. Lazily read.</summary>
    public IEnumerable<JournalEntry> Read(ulong fromSeq = 1)
    {
        using Iterator ops = NewIterator(JournalLayout.OpsFamily);
        using Iterator results = NewIterator(JournalLayout.ResultsFamily);
        byte[] start = new byte[JournalLayout.SeqKeySize];
        JournalLayout.WriteSeqKey(start, fromSeq);
        ops.Seek(start);
        results.Seek(start);

        // The checkpoint each entry belongs to: the newest one with a smaller seq. Taken from the
        // "checkpoints" family for the entries before fromSeq, then from the checkpoint events passed.
        int? checkpoint = CheckpointBefore(fromSeq);
        while (ops.Valid())
        {
            ulong seq = SeqOf(ops, JournalLayout.OpsFamily);

            // A completion whose intent is not in ops (below fromSeq cannot happen after the seek) is skipped.
            while (results.Valid() && SeqOf(results, JournalLayout.ResultsFamily) < seq)
            {
                results.Next();
            }

            OpCompletion? completion = null;
            if (results.Valid() && SeqOf(results, JournalLayout.ResultsFamily) == seq)
            {
                if (!RecordCodec.TryDecodeCompletion(results.GetValueSpan(), out OpCompletion c, out DecodeError cerr))
                {
                    ThrowHelper.ThrowDamagedRecord(_store.Directory, seq, JournalLayout.ResultsFamily, cerr);
                }

                completion = c;
            }

            JournalEntry entry = Decode(seq, ops.GetValueSpan(), completion, checkpoint);
            if (entry.Op == OpCode.Checkpoint && entry.CheckpointId is int taken)
            {
                checkpoint = taken;
            }

            yield return entry;
            ops.Next();
        }

        CheckIterator(ops, JournalLayout.OpsFamily);
        CheckIterator(results, JournalLayout.ResultsFamily);
    }

    /// <summary>Sequence numbers of the process events of <paramref name="pid"/>, from the "procs" index.</summary>
    public IEnumerable<ulong> ProcessEventSeqs(int pid)
    {
        using Iterator it = NewIterator(JournalLayout.ProcsFamily);
        byte[] start = new byte[JournalLayout.ProcsKeySize];
        JournalLayout.WriteProcsKey(start, pid, 0);
        it.Seek(start);
        while (it.Valid())
        {
            ReadOnlySpan<byte> key = it.GetKeySpan();
            if (key.Length != JournalLayout.ProcsKeySize || !key[..4].SequenceEqual(start.AsSpan(0, 4)))
            {
                break;
            }

            yield return JournalLayout.ReadSeqKey(key[4..]);
            it.Next();
        }

        CheckIterator(it, JournalLayout.ProcsFamily);
    }

    /// <summary>Counts for `scoord status`. Reads the whole journal.</summary>
    public JournalStats GetStats()
    {
        long operations = 0, completed = 0, failed = 0, pending = 0, processEvents = 0, faults = 0;
        long firstNs = 0, lastNs = 0;
        bool any = false;
        ulong lastSeq = 0;
        var pids = new HashSet<int>();
        foreach (JournalEntry e in Read())
        {
            if (!any)
            {
                firstNs = e.TimeNs;
                any = true;
            }

            lastNs = e.TimeNs;
            lastSeq = e.Seq;
            if (e.Op == OpCode.Checkpoint && e.CheckpointId is not null)
            {
                continue;
            }

            if (e.IsProcessEvent)
            {
                processEvents++;
                pids.Add(e.Pid);
                continue;
            }

            operations++;
            if ((e.IntentFlags & IntentFlags.Fault) != 0)
            {
                faults++;
            }

            switch (e.Status)
            {
                case EntryStatus.Completed: completed++; break;
                case EntryStatus.Failed: failed++; break;
                default: pending++; break;
            }
        }

        return new JournalStats
        {
            Operations = operations,
            Completed = completed,
            Failed = failed,
            Pending = pending,
            Faults = faults,
            ProcessEvents = processEvents,
            Processes = pids.Count,
            LastSeq = lastSeq,
            FirstTime = any ? FromNs(firstNs) : null,
            LastTime = any ? FromNs(lastNs) : null,
            BytesOnDisk = DirectorySize(_store.Directory),
        };
    }

    private JournalEntry Decode(ulong seq, ReadOnlySpan<byte> value, OpCompletion? completion, int? checkpoint)
    {
        if (!value.IsEmpty && value[0] == (byte)RecordType.Checkpoint)
        {
            return DecodeCheckpoint(seq, value, checkpoint);
        }

        if (!RecordCodec.TryDecode(value, out DecodedRecord record, out DecodeError error))
        {
            ThrowHelper.ThrowDamagedRecord(_store.Directory, seq, JournalLayout.OpsFamily, error);
        }

        if (record.Type == RecordType.Process)
        {
            ProcessEvent p = record.Process;
            return new JournalEntry
            {
                Seq = seq,
                TimeNs = p.TimeNs,
                Pid = p.Pid,
                Tid = p.Pid,
                Op = p.Kind,
                Path = record.Bytes1.IsEmpty ? null : record.Bytes1.ToArray(),
                Ppid = p.Ppid,
                ExitCode = p.ExitCode,
                Signal = p.Signal,
                CloneFlags = p.CloneFlags,
                Argv = record.Bytes2.IsEmpty ? null : SplitArgv(record.Bytes2),
                IsProcessEvent = true,
                Status = EntryStatus.Completed,
                Fd = -1,
                Checkpoint = checkpoint,
            };
        }

        if (record.Type != RecordType.Intent)
        {
            ThrowHelper.ThrowDamagedRecord(_store.Directory, seq, JournalLayout.OpsFamily, DecodeError.WrongType);
        }

        OpIntent i = record.Intent;
        bool refused = (i.Flags & IntentFlags.Refused) != 0;
        EntryStatus status;
        int? errno;
        long? result;
        if (refused)
        {
            status = EntryStatus.Failed;
            errno = i.InjectedErrno;
            result = completion?.Result ?? -1;
        }
        else if (completion is OpCompletion c)
        {
            status = c.Errno == 0 ? EntryStatus.Completed : EntryStatus.Failed;
            errno = c.Errno;
            result = c.Result;
        }
        else
        {
            status = EntryStatus.Pending;
            errno = null;
            result = null;
        }

        return new JournalEntry
        {
            Seq = seq,
            TimeNs = i.TimeNs,
            Pid = i.Pid,
            Tid = i.Tid,
            Op = i.Op,
            Path = record.Bytes1.IsEmpty ? null : record.Bytes1.ToArray(),
            Path2 = record.Bytes2.IsEmpty ? null : record.Bytes2.ToArray(),
            Fd = i.Fd,
            OpFlags = i.OpFlags,
            Mode = i.Mode,
            Offset = i.Offset,
            Length = i.Length,
            Uid = i.Uid,
            Gid = i.Gid,
            Dev = i.Dev,
            Ino = i.Ino,
            Kind = i.Kind,
            IntentFlags = i.Flags,
            InjectedErrno = i.InjectedErrno,
            Result = result,
            Errno = errno,
            Status = status,
            DevAfter = completion?.Dev ?? 0,
            InoAfter = completion?.Ino ?? 0,
            CompletionTimeNs = completion?.TimeNs,
            Checkpoint = checkpoint,
        };
    }

    /// <summary>A CHECKPOINT record in ops: op "checkpoint", no path, path2 = the name, result = the id.</summary>
    private JournalEntry DecodeCheckpoint(ulong seq, ReadOnlySpan<byte> value, int? checkpoint)
    {
        if (!CheckpointCodec.TryDecode(value, out CheckpointInfo? c, out DecodeError error))
        {
            ThrowHelper.ThrowDamagedRecord(_store.Directory, seq, JournalLayout.OpsFamily, error);
        }

        if (c!.Seq != seq)
        {
            ThrowHelper.ThrowDamaged(_store.Directory, $"record seq {seq} in {JournalLayout.OpsFamily} is checkpoint {c.Id} of seq {c.Seq}");
        }

        return new JournalEntry
        {
            Seq = seq,
            TimeNs = c.TimeNs,
            Op = OpCode.Checkpoint,
            Path2 = System.Text.Encoding.UTF8.GetBytes(c.Name),
            Fd = -1,
            Result = c.Id,
            Errno = 0,
            Status = EntryStatus.Completed,
            Checkpoint = checkpoint,
            CheckpointId = c.Id,
        };
    }

    /// <summary>argv is NUL-separated; each argument is NUL-terminated as in /proc/PID/cmdline (a missing final NUL is accepted).</summary>
    internal static string[] SplitArgv(ReadOnlySpan<byte> argv)
    {
        if (argv[^1] == 0)
        {
            argv = argv[..^1];
        }

        var args = new List<string>();
        while (true)
        {
            int nul = argv.IndexOf((byte)0);
            if (nul < 0)
            {
                args.Add(PathText.ToText(argv));
                break;
            }

            args.Add(PathText.ToText(argv[..nul]));
            argv = argv[(nul + 1)..];
        }

        return [.. args];
    }

    private Iterator NewIterator(string family)
    {
        try
        {
            return _store.Db.NewIterator(_store.Family(family), _store.ReadOptions);
        }
        catch (RocksDbException e)
        {
            ThrowHelper.ThrowRocksDb(_store.Directory, "reading " + family, e);
            return null;
        }
    }

    private ulong SeqOf(Iterator it, string family)
    {
        ReadOnlySpan<byte> key = it.GetKeySpan();
        if (key.Length != JournalLayout.SeqKeySize)
        {
            ThrowHelper.ThrowDamaged(_store.Directory, $"a key in {family} has {key.Length} bytes, not {JournalLayout.SeqKeySize}");
        }

        return JournalLayout.ReadSeqKey(key);
    }

    /// <summary>An iterator that stopped because of an error (checksum mismatch in a block, I/O error) says so here.</summary>
    private void CheckIterator(Iterator it, string family)
    {
        try
        {
            it.CheckError();
        }
        catch (RocksDbException e)
        {
            ThrowHelper.ThrowRocksDb(_store.Directory, "reading " + family, e);
        }
    }

    private static DateTimeOffset FromNs(long ns) => DateTimeOffset.UnixEpoch.AddTicks(ns / 100);

    internal static long DirectorySizeOf(string dir) => DirectorySize(dir);

    private static long DirectorySize(string dir)
    {
        long total = 0;
        try
        {
            foreach (FileInfo f in new DirectoryInfo(dir).EnumerateFiles("*", SearchOption.AllDirectories))
            {
                total += f.Length;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Files come and go under a running coordinator (compaction); the figure is approximate anyway.
        }

        return total;
    }
}
