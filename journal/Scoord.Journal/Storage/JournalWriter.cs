using System.Buffers.Binary;
using Scoord.Journal.Rocks;
using Scoord.Journal.Codec;
using Scoord.Journal.Model;

namespace Scoord.Journal;

/// <summary>
/// The hot path: appends records to the journal. Called from ONE thread (the coordinator's journal
/// ingest); not thread-safe (sequence numbers come from <see cref="Sequences"/>, which is). Allocates nothing per call in steady state: records are encoded into one reused
/// buffer (grown rarely), buffered in one reused WriteBatch, and committed with one RocksDB write.
/// </summary>
/// <remarks>
/// Ordering and durability invariants the caller upholds:
/// <list type="bullet">
/// <item>An INTENT is committed (<see cref="Commit"/> returned) before the operation it describes is
/// let run. With sync=false the record is then in RocksDB's WAL in the page cache, which survives a
/// crash of any process (durability "process"); with sync=true it is on disk ("strict").</item>
/// <item>Records buffered but not committed are lost if scoord dies; their sequence numbers leave a gap.
/// That is safe only because no operation was let run on their account.</item>
/// <item>Group commit: the caller may append the intents of many operations waiting at the same moment,
/// commit once, then let them all run.</item>
/// <item>A completion is keyed by its intent's sequence number; it may be committed lazily (with the
/// next batch) because a missing completion reads back as "pending", never as a wrong result.</item>
/// </list>
/// If <see cref="Commit"/> throws (or <see cref="TryCommit"/> returns false), the batch is discarded and no
/// operation may run on its account.
/// </remarks>
public sealed partial class JournalWriter : IDisposable
{
    private const int InitialBufferSize = 16 * 1024;

    private readonly RocksDb _db;
    private readonly ColumnFamilyHandle _ops;
    private readonly ColumnFamilyHandle _results;
    private readonly ColumnFamilyHandle _procs;
    private readonly ColumnFamilyHandle _undo;
    private readonly SequenceAllocator _sequences;
    private readonly string _dir;
    private readonly WriteBatch _batch = new();
    private readonly WriteOptions _noSync = new WriteOptions().SetSync(false);
    private readonly WriteOptions _sync = new WriteOptions().SetSync(true);
    private byte[] _buffer = new byte[InitialBufferSize];
    private int _pending;
    private long _batchBytes;
    private long _bytesWritten;

    // A save point in the batch (one at most): what one tracer stop appended can be dropped when scoord fails
    // while handling it, without dropping the records of the other stops gathered in the same batch.
    private bool _marked;
    private int _markPending;
    private long _markBytes;

    internal JournalWriter(RocksDb db, ColumnFamilyHandle ops, ColumnFamilyHandle results, ColumnFamilyHandle procs, ColumnFamilyHandle undo, SequenceAllocator sequences, string dir)
    {
        _undo = undo;
        _db = db;
        _ops = ops;
        _results = results;
        _procs = procs;
        _sequences = sequences;
        _dir = dir;
    }

    /// <summary>Records buffered since the last commit (an index row counts as one).</summary>
    public int PendingRecords => _pending;

    /// <summary>Key and value bytes committed through this writer.</summary>
    public long BytesWritten => _bytesWritten;

    /// <summary>The journal's one source of sequence numbers (thread-safe), shared by every producer of events.</summary>
    public SequenceAllocator Sequences => _sequences;

    /// <summary>
    /// Takes the next sequence number and buffers an INTENT under it in "ops". Commit before the
    /// operation proceeds.
    /// </summary>
    public ulong AppendIntent(in OpIntent intent, ReadOnlySpan<byte> path, ReadOnlySpan<byte> path2)
    {
        ulong seq = _sequences.Next();
        AppendIntent(seq, intent, path, path2);
        return seq;
    }

    /// <summary>
    /// Buffers an INTENT under <paramref name="seq"/>, taken from <see cref="Sequences"/> by its producer
    /// (numbers are allocated in one place; a producer may take its number before it has the record).
    /// </summary>
    public void AppendIntent(ulong seq, in OpIntent intent, ReadOnlySpan<byte> path, ReadOnlySpan<byte> path2)
    {
        EnsureCapacity(RecordLayout.FrameSize + RecordLayout.IntentFixedSize + (2L * RecordLayout.StringPrefixSize) + path.Length + path2.Length);
        RecordCodec.TryEncodeIntent(_buffer, intent, path, path2, out int written);
        Put(_ops, seq, _buffer.AsSpan(0, written));
    }

    /// <summary>Buffers the COMPLETION of the intent <paramref name="seq"/> in "results".</summary>
    public void AppendCompletion(ulong seq, in OpCompletion completion)
    {
        RecordCodec.TryEncodeCompletion(_buffer, completion, out int written);
        Put(_results, seq, _buffer.AsSpan(0, written));
    }

    /// <summary>
    /// Takes the next sequence number and buffers a process event under it in "ops", plus its row in
    /// the "procs" index (pid, seq).
    /// </summary>
    public ulong AppendProcess(in ProcessEvent e, ReadOnlySpan<byte> path, ReadOnlySpan<byte> argv)
    {
        EnsureCapacity(RecordLayout.FrameSize + RecordLayout.ProcessFixedSize + (2L * RecordLayout.StringPrefixSize) + path.Length + argv.Length);
        RecordCodec.TryEncodeProcess(_buffer, e, path, argv, out int written);
        ulong seq = _sequences.Next();
        Put(_ops, seq, _buffer.AsSpan(0, written));
        PutProcsIndex(e.Pid, seq);
        return seq;
    }

    /// <summary>
    /// Writes every buffered record in one atomic RocksDB write (WAL first), then empties the batch.
    /// <paramref name="sync"/> fsyncs the WAL before returning; a sync commit with nothing buffered still
    /// makes everything committed before it durable.
    /// </summary>
    public void Commit(bool sync)
    {
        if (!TryCommit(sync, out Exception? error))
        {
            ThrowHelper.ThrowRocksDb(_dir, "commit", error!);
        }
    }

    /// <summary>
    /// Like <see cref="Commit"/>, but a failed write (e.g. ENOSPC on the WAL) returns false with the
    /// RocksDB error and DISCARDS the batch: none of its records is in the journal, so the caller must
    /// not let any operation whose intent was in it proceed (the coordinator refuses them). Sequence numbers
    /// taken by the batch leave a gap, which the format allows.
    /// </summary>
    public bool TryCommit(bool sync, out Exception? error)
    {
        error = null;
        if (_pending == 0)
        {
            if (!sync)
            {
                return true;
            }

            // Nothing buffered: make everything committed so far durable. FlushWAL(sync) fsyncs the WAL
            // itself, rather than relying on an empty batch being written to it.
            try
            {
                _db.FlushWal(sync: true);
                return true;
            }
            catch (RocksDbException e)
            {
                error = e;
                return false;
            }
        }

        try
        {
            _db.Write(_batch, sync ? _sync : _noSync);
        }
        catch (RocksDbException e)
        {
            error = e;
            Discard();
            _checkpointNames = null; // a checkpoint in the discarded batch does not exist: reload the ids and names
            return false;
        }

        _bytesWritten += _batchBytes;
        Discard();
        return true;
    }

    /// <summary>Drops every buffered record (after a commit, or when the commit failed).</summary>
    private void Discard()
    {
        _batchBytes = 0;
        _pending = 0;
        _marked = false; // Clear drops the save points too
        _batch.Clear();
    }

    /// <summary>
    /// Remembers the batch as it is now (replacing an earlier mark): <see cref="DiscardSinceMark"/> drops what
    /// is appended after this point. A commit in between consumes the mark (what it wrote stays written).
    /// </summary>
    public void Mark()
    {
        if (_marked)
        {
            _batch.PopSavePoint();
        }

        _batch.SetSavePoint();
        _marked = true;
        _markPending = _pending;
        _markBytes = _batchBytes;
    }

    /// <summary>Drops the records appended since <see cref="Mark"/>; nothing when no mark is set (or a commit consumed it).</summary>
    public void DiscardSinceMark()
    {
        if (!_marked)
        {
            return;
        }

        _batch.RollbackToSavePoint();
        _marked = false;
        _pending = _markPending;
        _batchBytes = _markBytes;
    }

    public void Dispose()
    {
        // WriteOptions free their native side in their finalizers.
        _batch.Dispose();
        _pageBatch?.Dispose();
    }

    /// <summary>Makes sure the encode buffer holds <paramref name="size"/> bytes (the encoders then cannot fail).</summary>
    private void EnsureCapacity(long size)
    {
        if (size > _buffer.Length)
        {
            Grow(size);
        }
    }

    private void Grow(long size)
    {
        if (size > RecordLayout.MaxRecordSize)
        {
            ThrowHelper.ThrowRecordTooLarge(size > int.MaxValue ? int.MaxValue : (int)size);
        }

        _buffer = new byte[Math.Max((int)size, Math.Min(_buffer.Length * 2, RecordLayout.MaxRecordSize))];
    }

    private unsafe void Put(ColumnFamilyHandle family, ulong seq, ReadOnlySpan<byte> value)
    {
        byte* key = stackalloc byte[JournalLayout.SeqKeySize];
        JournalLayout.WriteSeqKey(new Span<byte>(key, JournalLayout.SeqKeySize), seq);
        fixed (byte* v = value)
        {
            _batch.Put(key, JournalLayout.SeqKeySize, v, (ulong)value.Length, family);
        }

        _pending++;
        _batchBytes += JournalLayout.SeqKeySize + value.Length;
    }

    private unsafe void PutProcsIndex(int pid, ulong seq)
    {
        byte* key = stackalloc byte[JournalLayout.ProcsKeySize];
        JournalLayout.WriteProcsKey(new Span<byte>(key, JournalLayout.ProcsKeySize), pid, seq);
        byte* value = stackalloc byte[JournalLayout.SeqKeySize];
        BinaryPrimitives.WriteUInt64BigEndian(new Span<byte>(value, JournalLayout.SeqKeySize), seq);
        _batch.Put(key, JournalLayout.ProcsKeySize, value, JournalLayout.SeqKeySize, _procs);
        _pending++;
        _batchBytes += JournalLayout.ProcsKeySize + JournalLayout.SeqKeySize;
    }
}
