using System.Buffers.Binary;
using Scoord.Journal.Rocks;
using Scoord.Journal.Codec;
using Scoord.Journal.Undo;

namespace Scoord.Journal;

public sealed partial class JournalReader
{
    /// <summary>Undo items of intents with seq in [fromSeq, toSeq], in (seq, part) order.</summary>
    public IEnumerable<UndoItem> ReadUndo(ulong fromSeq, ulong toSeq = ulong.MaxValue) => ReadUndo(fromSeq, toSeq, skipBulkData: false);

    /// <summary>
    /// As <see cref="ReadUndo(ulong, ulong)"/>; with <paramref name="skipBulkData"/> Blocks and Content items
    /// come without their bytes (fetch them with <see cref="ReadUndoData"/> when needed).
    /// </summary>
    public IEnumerable<UndoItem> ReadUndo(ulong fromSeq, ulong toSeq, bool skipBulkData)
    {
        using Iterator it = NewIterator(JournalLayout.UndoFamily);
        byte[] start = new byte[12];
        UndoCodec.WriteKey(start, fromSeq, 0);
        for (it.Seek(start); it.Valid(); it.Next())
        {
            ReadOnlySpan<byte> key = it.GetKeySpan();
            if (key.Length != 12)
            {
                ThrowHelper.ThrowDamaged(_store.Directory, $"a key in undo has {key.Length} bytes, not 12");
            }

            ulong seq = BinaryPrimitives.ReadUInt64BigEndian(key);
            if (seq > toSeq)
            {
                yield break;
            }

            uint part = BinaryPrimitives.ReadUInt32BigEndian(key[8..]);
            if (!UndoCodec.TryDecode(seq, part, it.GetValueSpan(), skipBulkData, out UndoItem? item, out DecodeError error))
            {
                ThrowHelper.ThrowDamagedRecord(_store.Directory, seq, JournalLayout.UndoFamily, error);
            }

            yield return item!;
        }
    }

    /// <summary>
    /// The bytes of one undo item copied into <paramref name="buffer"/> (grown when too small), read in
    /// place from RocksDB rather than decoded whole; their count, or -1 when there is no item under (seq, part).
    /// </summary>
    public int ReadUndoData(ulong seq, uint part, ref byte[] buffer)
    {
        Span<byte> key = stackalloc byte[12];
        UndoCodec.WriteKey(key, seq, part);
        using PinnedValue value = _store.Db.GetPinned(key, _store.Family(JournalLayout.UndoFamily), _store.ReadOptions);
        if (!value.Found)
        {
            return -1;
        }

        if (!UndoCodec.TryReadData(value.Span, out ReadOnlySpan<byte> data, out DecodeError error))
        {
            ThrowHelper.ThrowDamagedRecord(_store.Directory, seq, JournalLayout.UndoFamily, error);
        }

        if (buffer.Length < data.Length)
        {
            buffer = new byte[Math.Max(data.Length, buffer.Length * 2)];
        }

        data.CopyTo(buffer);
        return data.Length;
    }

    /// <summary>Total bytes of undo values for intents with seq in [fromSeq, toSeq].</summary>
    public long UndoBytes(ulong fromSeq, ulong toSeq = ulong.MaxValue)
    {
        long total = 0;
        using Iterator it = NewIterator(JournalLayout.UndoFamily);
        byte[] start = new byte[12];
        UndoCodec.WriteKey(start, fromSeq, 0);
        for (it.Seek(start); it.Valid(); it.Next())
        {
            ReadOnlySpan<byte> key = it.GetKeySpan();
            if (key.Length == 12 && BinaryPrimitives.ReadUInt64BigEndian(key) > toSeq)
            {
                break;
            }

            total += it.GetValueSpan().Length;
        }

        return total;
    }
}
