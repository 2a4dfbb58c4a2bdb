using System.Buffers.Binary;
using System.Globalization;
using Scoord.Journal.Rocks;
using Scoord.Journal.Codec;
using Scoord.Journal.Undo;

namespace Scoord.Journal.Checking;

/// <summary>
/// `scoord fsck`: walks every column family, decodes every record, checks the cross-references between
/// families (journal-format.md), and reports each damage as one line. Never throws for damage: a RocksDB
/// error while walking a family (a block checksum in an SST file) is reported and the next family is walked.
/// </summary>
public sealed class JournalChecker
{
    private enum OpKind : byte
    {
        Intent,
        Process,
        Checkpoint,
    }

    private readonly JournalStore _store;
    private readonly JournalCheckReport _report = new();
    private readonly Dictionary<ulong, OpKind> _ops = new();
    private readonly Dictionary<ulong, int> _processPids = new();
    private readonly Dictionary<ulong, CheckpointInfo> _checkpointOps = new();
    private ulong _lastSeq;

    private JournalChecker(JournalStore store) => _store = store;

    /// <summary>
    /// Checks the journal at <paramref name="dir"/>. A journal that cannot be opened at all (no journal, a
    /// foreign or newer one, a damaged database) is a <see cref="JournalException"/> as for every command;
    /// the caller reports it as one line.
    /// </summary>
    public static JournalCheckReport Check(string dir)
    {
        ArgumentException.ThrowIfNullOrEmpty(dir);
        string full = Path.GetFullPath(dir);
        if (JournalStore.IsCoordinatorRunning(full, out int pid))
        {
            ThrowHelper.ThrowInUse(full, pid);
        }

        using JournalStore store = JournalStore.OpenReadOnly(full, checkMeta: false);
        var checker = new JournalChecker(store);
        checker.Run();
        return checker._report;
    }

    private void Run()
    {
        _report.Directory = _store.Directory;
        CheckMeta();
        Walk(JournalLayout.OpsFamily, CheckOp);
        Walk(JournalLayout.ResultsFamily, CheckResult);
        Walk(JournalLayout.ProcsFamily, CheckProcsRow);
        Walk(JournalLayout.CheckpointsFamily, CheckCheckpoint);
        Walk(JournalLayout.UndoFamily, CheckUndo);
        Walk(JournalLayout.DefaultFamily, (key, _) => Damage(JournalLayout.DefaultFamily, "key " + Hex(key), "unexpected record (the family is unused)"));
        foreach ((ulong seq, CheckpointInfo c) in _checkpointOps)
        {
            Damage(JournalLayout.OpsFamily, "seq " + N(seq), $"checkpoint {N(c.Id)} has no row in {JournalLayout.CheckpointsFamily}");
        }

        _report.LastSeq = _lastSeq;
        _report.RingRecords = Ring.RingCheck.Check(_store.Directory, _report.Damage);
    }

    private void CheckMeta()
    {
        const string family = JournalLayout.MetaFamily;
        ColumnFamilyHandle meta = _store.Family(family);
        try
        {
            byte[]? format = _store.Db.Get(JournalLayout.FormatKey.ToArray(), meta, _store.ReadOptions);
            byte[]? journal = _store.Db.Get(JournalLayout.JournalKey.ToArray(), meta, _store.ReadOptions);
            _report.Records += (format is null ? 0 : 1) + (journal is null ? 0 : 1);
            _report.MetaRecords += (format is null ? 0 : 1) + (journal is null ? 0 : 1);
            if (format is null)
            {
                Damage(family, "key format", "missing");
            }
            else if (format.Length != 4)
            {
                Damage(family, "key format", $"{format.Length} bytes, not 4");
            }
            else if (BinaryPrimitives.ReadUInt32LittleEndian(format) is var v && (v == 0 || v > JournalLayout.FormatVersion))
            {
                Damage(family, "key format", $"format version {N(v)} (this scoord reads 1 to {N(JournalLayout.FormatVersion)})");
            }

            if (journal is null)
            {
                Damage(family, "key journal", "missing");
            }
            else if (!RecordCodec.TryDecodeMeta(journal, out _, out DecodeError error))
            {
                Damage(family, "key journal", DecodeErrors.Describe(error));
            }

            IReadOnlyList<RunRecord> runs = _store.ReadRunRecords();
            _report.Records += runs.Count;
            _report.MetaRecords += runs.Count;
        }
        catch (JournalException e)
        {
            // A damaged run record: its message names it.
            Damage(family, "run records", StripDirectory(e.Message));
        }
        catch (RocksDbException e)
        {
            Damage(family, "read", OneLine(e.Message));
        }
    }

    /// <summary>Walks one family in key order; a RocksDB error stops that family only.</summary>
    private void Walk(string family, Action<byte[], byte[]> check)
    {
        byte[]? lastKey = null;
        try
        {
            using Iterator it = _store.Db.NewIterator(_store.Family(family), _store.ReadOptions);
            for (it.SeekToFirst(); it.Valid(); it.Next())
            {
                lastKey = it.Key();
                _report.Records++;
                check(lastKey, it.Value());
            }

            it.CheckError();
        }
        catch (RocksDbException e)
        {
            string where = lastKey is null ? "at its start" : "after key " + Hex(lastKey);
            Damage(family, "read " + where, OneLine(e.Message));
        }
    }

    private void CheckOp(byte[] key, byte[] value)
    {
        const string family = JournalLayout.OpsFamily;
        if (key.Length != JournalLayout.SeqKeySize)
        {
            Damage(family, "key " + Hex(key), $"key of {key.Length} bytes, not {JournalLayout.SeqKeySize}");
            return;
        }

        ulong seq = JournalLayout.ReadSeqKey(key);
        _lastSeq = Math.Max(_lastSeq, seq);
        string where = "seq " + N(seq);
        if (value.Length > 0 && value[0] == (byte)RecordType.Checkpoint)
        {
            if (!CheckpointCodec.TryDecode(value, out CheckpointInfo? c, out DecodeError cerr))
            {
                Damage(family, where, DecodeErrors.Describe(cerr));
                return;
            }

            if (c!.Seq != seq)
            {
                Damage(family, where, $"checkpoint {N(c.Id)} says seq {N(c.Seq)}");
            }

            _ops[seq] = OpKind.Checkpoint;
            _checkpointOps[seq] = c;
            _report.CheckpointEvents++;
            return;
        }

        if (!RecordCodec.TryDecode(value, out DecodedRecord r, out DecodeError error))
        {
            Damage(family, where, DecodeErrors.Describe(error));
            return;
        }

        switch (r.Type)
        {
            case RecordType.Intent:
                _ops[seq] = OpKind.Intent;
                _report.Intents++;
                break;
            case RecordType.Process:
                _ops[seq] = OpKind.Process;
                _processPids[seq] = r.Process.Pid;
                _report.ProcessEvents++;
                break;
            default:
                Damage(family, where, $"a {r.Type} record does not belong in {family}");
                break;
        }
    }

    private void CheckResult(byte[] key, byte[] value)
    {
        const string family = JournalLayout.ResultsFamily;
        if (key.Length != JournalLayout.SeqKeySize)
        {
            Damage(family, "key " + Hex(key), $"key of {key.Length} bytes, not {JournalLayout.SeqKeySize}");
            return;
        }

        ulong seq = JournalLayout.ReadSeqKey(key);
        string where = "seq " + N(seq);
        if (!RecordCodec.TryDecodeCompletion(value, out _, out DecodeError error))
        {
            Damage(family, where, DecodeErrors.Describe(error));
            return;
        }

        _report.Completions++;
        if (!_ops.TryGetValue(seq, out OpKind kind))
        {
            Damage(family, where, $"completion without an intent in {JournalLayout.OpsFamily}");
        }
        else if (kind != OpKind.Intent)
        {
            Damage(family, where, $"completion of a {kind.ToString().ToLowerInvariant()} event, not of an intent");
        }
    }

    private void CheckProcsRow(byte[] key, byte[] value)
    {
        _report.ProcessIndexRows++;
        const string family = JournalLayout.ProcsFamily;
        if (key.Length != JournalLayout.ProcsKeySize || value.Length != JournalLayout.SeqKeySize)
        {
            Damage(family, "key " + Hex(key), $"row of {key.Length}+{value.Length} bytes, not {JournalLayout.ProcsKeySize}+{JournalLayout.SeqKeySize}");
            return;
        }

        int pid = (int)BinaryPrimitives.ReadUInt32BigEndian(key);
        ulong seq = BinaryPrimitives.ReadUInt64BigEndian(key.AsSpan(4));
        string where = $"pid {N(pid)} seq {N(seq)}";
        if (BinaryPrimitives.ReadUInt64BigEndian(value) != seq)
        {
            Damage(family, where, $"value names seq {N(BinaryPrimitives.ReadUInt64BigEndian(value))}");
        }
        else if (!_processPids.TryGetValue(seq, out int eventPid))
        {
            Damage(family, where, $"no process event at that seq in {JournalLayout.OpsFamily}");
        }
        else if (eventPid != pid)
        {
            Damage(family, where, $"the process event is of pid {N(eventPid)}");
        }
    }

    private void CheckCheckpoint(byte[] key, byte[] value)
    {
        const string family = JournalLayout.CheckpointsFamily;
        if (key.Length != CheckpointCodec.KeySize)
        {
            Damage(family, "key " + Hex(key), $"key of {key.Length} bytes, not {CheckpointCodec.KeySize}");
            return;
        }

        uint id = BinaryPrimitives.ReadUInt32BigEndian(key);
        string where = "id " + N(id);
        if (!CheckpointCodec.TryDecode(value, out CheckpointInfo? c, out DecodeError error))
        {
            Damage(family, where, DecodeErrors.Describe(error));
            return;
        }

        _report.Checkpoints++;
        if (c!.Id != id)
        {
            Damage(family, where, $"the record says id {N(c.Id)}");
            return;
        }

        if (c.Seq > _lastSeq)
        {
            Damage(family, where, $"seq {N(c.Seq)} is after the last seq {N(_lastSeq)}");
        }
        else if (!_checkpointOps.Remove(c.Seq, out CheckpointInfo? inOps))
        {
            Damage(family, where, $"no checkpoint event at seq {N(c.Seq)} in {JournalLayout.OpsFamily}");
        }
        else if (inOps.Id != c.Id || !string.Equals(inOps.Name, c.Name, StringComparison.Ordinal))
        {
            Damage(family, where, $"differs from the checkpoint event at seq {N(c.Seq)} in {JournalLayout.OpsFamily}");
        }
    }

    private void CheckUndo(byte[] key, byte[] value)
    {
        const string family = JournalLayout.UndoFamily;
        if (key.Length != JournalLayout.SeqKeySize + 4)
        {
            Damage(family, "key " + Hex(key), $"key of {key.Length} bytes, not {JournalLayout.SeqKeySize + 4}");
            return;
        }

        ulong seq = BinaryPrimitives.ReadUInt64BigEndian(key);
        uint part = BinaryPrimitives.ReadUInt32BigEndian(key.AsSpan(8));
        string where = $"seq {N(seq)} part {N(part)}";
        if (!UndoCodec.TryDecode(seq, part, value, out _, out DecodeError error))
        {
            Damage(family, where, DecodeErrors.Describe(error));
            return;
        }

        _report.UndoItems++;
        if (!_ops.TryGetValue(seq, out OpKind kind) || kind != OpKind.Intent)
        {
            Damage(family, where, $"undo item of seq {N(seq)}, which is not an intent in {JournalLayout.OpsFamily}");
        }
    }

    private void Damage(string family, string where, string what) =>
        _report.Damage.Add($"{family} {where}: {what}");

    private string StripDirectory(string message)
    {
        string prefix = "journal " + _store.Directory + ": ";
        return message.StartsWith(prefix, StringComparison.Ordinal) ? message[prefix.Length..] : message;
    }

    private static string OneLine(string message) => ThrowHelper.OneLine(message);

    private static string Hex(byte[] key) => key.Length <= 32 ? Convert.ToHexString(key) : Convert.ToHexString(key, 0, 32) + "...";

    private static string N(long n) => n.ToString(CultureInfo.InvariantCulture);

    private static string N(ulong n) => n.ToString(CultureInfo.InvariantCulture);
}
