using System.Buffers.Binary;
using RocksDbSharp;
using Scoord.Journal.Codec;
using Scoord.Journal.Undo;

namespace Scoord.Journal;

public sealed partial class JournalReader
{
    /// <summary>Undo items of intents with seq in [fromSeq, toSeq], in (seq, part) order.</summary>
    public IEnumerable<UndoItem> ReadUndo(ulong fromSeq, ulong toSeq = ulong.MaxValue)
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
            if (!UndoCodec.TryDecode(seq, part, it.GetValueSpan(), out UndoItem? item, out DecodeError error))
            {
                ThrowHelper.ThrowDamagedRecord(_store.Directory, seq, JournalLayout.UndoFamily, error);
            }

            yield return item!;
        }
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
