namespace Scoord.Journal.Ring;

/// <summary>What one pass over a slot did.</summary>
public struct RingDrainStats
{
    public long Records;
    public long Malformed;
}

/// <summary>
/// Walks one slot's ring from its tail to its head (every record there is complete: the head moves only
/// past whole records) and applies each record to a journal writer (<see cref="RingRecords"/>). Records
/// are copied out of the shared mapping first. A record that is not well formed is counted and skipped;
/// a frame that cannot be walked past ends the slot's walk at its head. The DONE of an INTENT that was
/// skipped is skipped too (a completion without its intent would be damage in the journal).
/// </summary>
public static unsafe class RingReader
{
    /// <summary>Applies slot <paramref name="index"/>'s records in [tail, head); returns the new tail (to store once the batch is committed).</summary>
    /// <param name="skippedIntent">The seq of the last INTENT of this slot that was not applied (kept by the caller across passes).</param>
    public static ulong DrainSlot(RingFile ring, uint index, ulong tail, ulong head, byte[] buffer, JournalWriter writer, ref RingDrainStats stats, ref ulong skippedIntent)
    {
        if (head <= tail || head - tail > RingLayout.RingSize)
        {
            if (head != tail)
            {
                stats.Malformed++; // a head the thread's writes cannot have made
            }

            return head;
        }

        var span = new ReadOnlySpan<byte>(ring.RingOf(index), (int)RingLayout.RingSize);
        ulong pos = tail;
        while (pos < head)
        {
            uint off = (uint)(pos % RingLayout.RingSize);
            uint len = RingRecords.FrameAt(span, off, out ushort type, out _);
            if (len == 0 || pos + len > head)
            {
                stats.Malformed++;
                return head;
            }

            pos += len;
            if (type == RingLayout.RecordWrap)
            {
                continue;
            }

            span.Slice((int)off, (int)len).CopyTo(buffer);
            ulong seq = BitConverter.ToUInt64(buffer, 8);
            if (type == RingLayout.RecordDone && seq != 0 && seq == skippedIntent)
            {
                stats.Malformed++; // its INTENT was not applied
                continue;
            }

            if (RingRecords.Apply(buffer.AsSpan(0, (int)len), writer) == RingRecordError.None)
            {
                stats.Records++;
            }
            else
            {
                stats.Malformed++;
                if (type == RingLayout.RecordIntent)
                {
                    skippedIntent = seq;
                }
            }
        }

        return pos;
    }
}
