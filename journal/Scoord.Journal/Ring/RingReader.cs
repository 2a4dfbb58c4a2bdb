using System.Runtime.InteropServices;
using Scoord.Journal.Model;
using Scoord.Journal.Undo;

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
/// skipped is skipped too (a completion without its intent would be damage in the journal). An fd
/// post-state that a later DONE of the same walk supersedes is not written at all (nor deleted): a
/// program writing one file in a loop costs its intents and completions, and one post-state per walk.
/// </summary>
public static unsafe class RingReader
{
    /// <summary>What one walk of a slot needs between its two passes; reused (no allocation once grown).</summary>
    public sealed class WalkState
    {
        // Sized once for the most DONE records a full ring can hold, so that a walk never grows them.
        private const int MaxDones = (int)(RingLayout.RingSize / (RingLayout.RecordHeaderSize + RingLayout.DoneSize));

        // Sorted arrays, not hash sets: a walk often holds a few records, and clearing a set sized for a full ring
        // cleared all its buckets on every walk (14 % of the drain thread's time for a program writing in a loop).
        private readonly ulong[] _dones = new ulong[MaxDones];
        private readonly (ulong Seq, uint Part)[] _superseded = new (ulong, uint)[MaxDones];
        private int _doneCount;
        private int _supersededCount;
        private bool _donesSorted = true;
        private bool _supersededSorted = true;

        internal void Clear()
        {
            _doneCount = 0;
            _supersededCount = 0;
            _donesSorted = true;
            _supersededSorted = true;
        }

        internal void AddDone(ulong seq)
        {
            if (_doneCount == _dones.Length)
            {
                return; // cannot happen: a ring holds at most MaxDones DONE records
            }

            _donesSorted &= _doneCount == 0 || _dones[_doneCount - 1] <= seq;
            _dones[_doneCount++] = seq;
        }

        internal void AddSuperseded(ulong seq, uint part)
        {
            if (_supersededCount == _superseded.Length)
            {
                return;
            }

            _supersededSorted &= _supersededCount == 0 || _superseded[_supersededCount - 1].CompareTo((seq, part)) <= 0;
            _superseded[_supersededCount++] = (seq, part);
        }

        /// <summary>Sorts what was added out of order (a thread's records come in its seq order, so mostly nothing).</summary>
        internal void Seal()
        {
            if (!_donesSorted)
            {
                _dones.AsSpan(0, _doneCount).Sort();
                _donesSorted = true;
            }

            if (!_supersededSorted)
            {
                _superseded.AsSpan(0, _supersededCount).Sort();
                _supersededSorted = true;
            }
        }

        internal bool IsDone(ulong seq) => _dones.AsSpan(0, _doneCount).BinarySearch(seq) >= 0;

        internal bool IsSuperseded(ulong seq, uint part) =>
            _supersededCount > 0 && _superseded.AsSpan(0, _supersededCount).BinarySearch((seq, part)) >= 0;
    }

    /// <summary>Applies slot <paramref name="index"/>'s records in [tail, head); returns the new tail (to store once the batch is committed).</summary>
    /// <param name="skippedIntent">The seq of the last INTENT of this slot that was not applied (kept by the caller across passes).</param>
    public static ulong DrainSlot(RingFile ring, uint index, ulong tail, ulong head, byte[] buffer, JournalWriter writer, ref RingDrainStats stats, ref ulong skippedIntent, WalkState walk)
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
        CollectSuperseded(span, tail, head, walk);
        walk.Seal();
        var sink = new WalkSink(writer, walk);
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

            if (RingRecords.Apply(buffer.AsSpan(0, (int)len), ref sink) == RingRecordError.None)
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

    /// <summary>First pass: the DONE records of [tail, head) and the post-states they supersede.</summary>
    private static void CollectSuperseded(ReadOnlySpan<byte> span, ulong tail, ulong head, WalkState walk)
    {
        walk.Clear();
        for (ulong pos = tail; pos < head;)
        {
            uint off = (uint)(pos % RingLayout.RingSize);
            uint len = RingRecords.FrameAt(span, off, out ushort type, out ulong seq);
            if (len == 0 || pos + len > head)
            {
                return;
            }

            pos += len;
            if (type != RingLayout.RecordDone || len < RingLayout.RecordHeaderSize + RingLayout.DoneSize)
            {
                continue;
            }

            RingDone d = MemoryMarshal.Read<RingDone>(span[((int)off + RingLayout.RecordHeaderSize)..]);
            walk.AddDone(seq);
            if ((d.DoneFlags & RingLayout.DoneSupersede) != 0 && d.SupersedeSeq != 0 && d.SupersedeSeq < seq)
            {
                walk.AddSuperseded(d.SupersedeSeq, d.SupersedePart);
            }
        }
    }

    /// <summary>The writer, minus the post-states superseded within the walk (and their deletes).</summary>
    private readonly struct WalkSink(JournalWriter writer, WalkState walk) : IRingSink
    {
        public void Intent(ulong seq, in OpIntent intent, ReadOnlySpan<byte> path, ReadOnlySpan<byte> path2) => writer.AppendIntent(seq, intent, path, path2);

        public void Undo(ulong seq, uint part, in UndoCodec.Header header, ReadOnlySpan<byte> path, ReadOnlySpan<byte> data, ReadOnlySpan<byte> xattrs)
        {
            if (header.Kind == UndoKind.PostState && walk.IsSuperseded(seq, part))
            {
                return; // a later DONE of this walk replaces it: neither written nor deleted
            }

            writer.AppendUndo(seq, part, header, path, data, xattrs);
        }

        public void Completion(ulong seq, in OpCompletion completion) => writer.AppendCompletion(seq, completion);

        public void DeleteUndo(ulong seq, uint part)
        {
            if (!walk.IsDone(seq))
            {
                writer.DeleteUndo(seq, part); // written by an earlier walk: it goes now
            }
        }
    }
}
