using Scoord.Journal.Undo;

namespace Scoord.Journal;

public sealed partial class JournalWriter
{
    /// <summary>
    /// Buffers an undo item for the intent <paramref name="seq"/> in the same batch as the intent, so
    /// the intent and its undo data become durable together, before the syscall runs.
    /// </summary>
    public void AppendUndo(ulong seq, uint part, in UndoCodec.Header header, ReadOnlySpan<byte> path, ReadOnlySpan<byte> data, ReadOnlySpan<byte> encodedXattrs)
    {
        EnsureCapacity(UndoCodec.Size(path.Length, data.Length, encodedXattrs.Length));
        UndoCodec.TryEncode(_buffer, header, path, data, encodedXattrs, out int written);
        PutUndo(seq, part, _buffer.AsSpan(0, written));
    }

    /// <summary>
    /// Drops an undo item written earlier (in this batch or a committed one), in the current batch:
    /// the drop becomes durable together with whatever the batch adds in its place.
    /// </summary>
    public unsafe void DeleteUndo(ulong seq, uint part)
    {
        byte* key = stackalloc byte[12];
        UndoCodec.WriteKey(new Span<byte>(key, 12), seq, part);
        _batch.Delete(key, 12, _undo);
        _pending++;
        _batchBytes += 12;
    }

    private unsafe void PutUndo(ulong seq, uint part, ReadOnlySpan<byte> value)
    {
        byte* key = stackalloc byte[12];
        UndoCodec.WriteKey(new Span<byte>(key, 12), seq, part);
        fixed (byte* v = value)
        {
            _batch.Put(key, 12, v, (ulong)value.Length, _undo);
        }

        _pending++;
        _batchBytes += 12 + value.Length;
    }
}
