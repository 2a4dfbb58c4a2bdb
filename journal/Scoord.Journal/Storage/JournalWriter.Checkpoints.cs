using System.Text;
using Scoord.Journal.Rocks;
using Scoord.Journal.Codec;

namespace Scoord.Journal;

public sealed partial class JournalWriter
{
    private readonly ReadOptions _checkpointReadOptions = new ReadOptions().SetVerifyChecksums(true);
    private ColumnFamilyHandle? _checkpoints;
    private int _lastCheckpointId = -1;
    private HashSet<string>? _checkpointNames;

    /// <summary>The id the next <see cref="AppendCheckpoint"/> will give (for hooks run before the record is written).</summary>
    public int NextCheckpointId
    {
        get
        {
            LoadCheckpointState();
            return _lastCheckpointId + 1;
        }
    }

    /// <summary>True when <paramref name="name"/> names an existing checkpoint or is not a valid name.</summary>
    public bool IsCheckpointNameUnusable(string name)
    {
        LoadCheckpointState();
        return CheckpointNames.Validate(name) is not null || _checkpointNames!.Contains(name);
    }

    /// <summary>
    /// Buffers a new checkpoint: takes the next sequence number, id = last id + 1 (epoch = id), and puts
    /// the CHECKPOINT record both into "checkpoints" (key: id) and into "ops" (key: its seq, so the log
    /// shows it) in the current batch. The caller commits, with sync=true. <paramref name="name"/> null or
    /// empty means the default name <c>ckpt-ID</c>. Throws <see cref="JournalException"/> before buffering
    /// anything when the name is invalid or already taken. Same thread rules as every append.
    /// </summary>
    public CheckpointInfo AppendCheckpoint(string? name, long timeNs)
    {
        LoadCheckpointState();
        int id = checked(_lastCheckpointId + 1);
        if (string.IsNullOrEmpty(name))
        {
            name = CheckpointNames.Default(id);
        }
        else if (CheckpointNames.Validate(name) is { } invalid)
        {
            throw new JournalException(invalid);
        }

        if (_checkpointNames!.Contains(name))
        {
            throw new JournalException($"checkpoint name '{name}' is already taken");
        }

        byte[] nameBytes = Encoding.UTF8.GetBytes(name);
        EnsureCapacity(CheckpointCodec.RecordSize(nameBytes.Length));
        ulong seq = _sequences.Next();
        ulong epoch = (ulong)id;
        CheckpointCodec.TryEncode(_buffer, id, seq, timeNs, epoch, nameBytes, out int written);
        ReadOnlySpan<byte> record = _buffer.AsSpan(0, written);
        Span<byte> key = stackalloc byte[CheckpointCodec.KeySize];
        CheckpointCodec.WriteKey(key, id);
        _batch.Put(key, record, _checkpoints!); // set by LoadCheckpointState above
        _pending++;
        _batchBytes += CheckpointCodec.KeySize + written;
        Put(_ops, seq, record);

        _lastCheckpointId = id;
        _checkpointNames.Add(name);
        return new CheckpointInfo(id, name, seq, timeNs, epoch);
    }

    /// <summary>Reads the last id and the names in "checkpoints" once; later appends keep them current.</summary>
    private void LoadCheckpointState()
    {
        if (_checkpointNames is not null)
        {
            return;
        }

        _checkpoints = _db.GetColumnFamily(JournalLayout.CheckpointsFamily);
        var names = new HashSet<string>(StringComparer.Ordinal);
        int last = 0;
        try
        {
            using Iterator it = _db.NewIterator(_checkpoints, _checkpointReadOptions);
            for (it.SeekToFirst(); it.Valid(); it.Next())
            {
                if (!CheckpointCodec.TryDecode(it.GetValueSpan(), out CheckpointInfo? c, out DecodeError error))
                {
                    ThrowHelper.ThrowDamaged(_dir, $"a record in {JournalLayout.CheckpointsFamily} is damaged ({DecodeErrors.Describe(error)})");
                }

                names.Add(c!.Name);
                last = Math.Max(last, c.Id);
            }

            it.CheckError();
        }
        catch (RocksDbException e)
        {
            ThrowHelper.ThrowRocksDb(_dir, "reading " + JournalLayout.CheckpointsFamily, e);
        }

        _lastCheckpointId = last;
        _checkpointNames = names;
    }
}
