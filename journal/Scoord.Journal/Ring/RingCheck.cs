namespace Scoord.Journal.Ring;

/// <summary>
/// `scoord fsck` of a ring left by a run that did not end (DIR/fastpath/ring): the header, and every record
/// between each slot's tail and head. Such records are not damage (recovery applies them at the next open
/// for writing); a record that cannot be decoded is (recovery skips it, the app wrote garbage there).
/// </summary>
public static unsafe class RingCheck
{
    /// <summary>Records waiting in the ring (-1: no ring); every damage found goes to <paramref name="damage"/>.</summary>
    public static long Check(string journalDirectory, List<string> damage)
    {
        RingFile? ring;
        try
        {
            ring = RingFile.OpenExisting(journalDirectory, writable: false);
        }
        catch (ScoordException e)
        {
            damage.Add("fastpath/ring: " + e.Message);
            return 0;
        }

        if (ring is null)
        {
            return -1;
        }

        using (ring)
        {
            if (ring.Header.Magic != RingLayout.Magic)
            {
                return 0; // created, never initialised: nothing in it
            }

            long records = 0;
            byte[] buffer = new byte[RingLayout.MaxRecord];
            uint hwm = ring.SlotHighWater;
            for (uint i = 0; i < hwm; i++)
            {
                RingSlot* s = ring.Slot(i);
                ulong head = s->Head, tail = s->Tail;
                if (head < tail || head - tail > RingLayout.RingSize)
                {
                    damage.Add($"fastpath/ring slot {i}: head {head} and tail {tail} cannot be");
                    continue;
                }

                var span = new ReadOnlySpan<byte>(ring.RingOf(i), (int)RingLayout.RingSize);
                for (ulong pos = tail; pos < head;)
                {
                    uint off = (uint)(pos % RingLayout.RingSize);
                    uint len = RingRecords.FrameAt(span, off, out ushort type, out ulong seq);
                    if (len == 0 || pos + len > head)
                    {
                        damage.Add($"fastpath/ring slot {i} at {pos}: not a record frame (the rest of the slot cannot be read)");
                        break;
                    }

                    pos += len;
                    if (type == RingLayout.RecordWrap)
                    {
                        continue;
                    }

                    span.Slice((int)off, (int)len).CopyTo(buffer);
                    RingRecordError e = RingRecords.Check(buffer.AsSpan(0, (int)len));
                    if (e != RingRecordError.None)
                    {
                        damage.Add($"fastpath/ring slot {i} seq {seq}: record damaged ({e})");
                    }
                    else
                    {
                        records++;
                    }
                }
            }

            return records;
        }
    }
}
