using Scoord.Journal.Codec;
using Scoord.Journal.Model;
using Scoord.Journal.Ring;
using Scoord.Journal.Undo;

namespace Scoord.Fuzz.Targets;

/// <summary>
/// Fuzz target for the fast path's ring records (corpus: fuzz/corpus/ring-record/). The app writes its ring
/// (and may scribble on it): no input may throw, the frame check and the record check must agree with
/// the applier, and every record the applier makes must encode and decode with the journal's own codecs
/// (a ring record never puts a record into the journal that fsck or rollback would call damaged).
/// </summary>
public static class RingRecordTarget
{
    public static void Fuzz(ReadOnlySpan<byte> input)
    {
        RingRecords.FrameAt(input, 0, out _, out _);
        RingRecordError checkedError = RingRecords.Check(input);
        var sink = new CheckingSink(new byte[RingLayout.MaxRecord + 4096]);
        RingRecordError applied = RingRecords.Apply(input, ref sink);
        if (checkedError != applied)
        {
            throw new InvalidOperationException($"Check says {checkedError}, Apply says {applied}");
        }

        if (applied != RingRecordError.None && sink.Calls != 0)
        {
            throw new InvalidOperationException("a record that is not well formed was half applied");
        }
    }

    private struct CheckingSink(byte[] buffer) : IRingSink
    {
        public int Calls;

        public void Intent(ulong seq, in OpIntent intent, ReadOnlySpan<byte> path, ReadOnlySpan<byte> path2)
        {
            Calls++;
            if (!RecordCodec.TryEncodeIntent(buffer, intent, path, path2, out int n)
                || !RecordCodec.TryDecodeIntent(buffer.AsSpan(0, n), out OpIntent back, out ReadOnlySpan<byte> p, out ReadOnlySpan<byte> p2, out DecodeError e)
                || !p.SequenceEqual(path) || !p2.SequenceEqual(path2) || back.Op != intent.Op)
            {
                throw new InvalidOperationException("an applied intent does not round-trip through the record codec");
            }
        }

        public void Undo(ulong seq, uint part, in UndoCodec.Header header, ReadOnlySpan<byte> path, ReadOnlySpan<byte> data, ReadOnlySpan<byte> xattrs)
        {
            Calls++;
            if (!UndoCodec.TryEncode(buffer, header, path, data, xattrs, out int n)
                || !UndoCodec.TryDecode(seq, part, buffer.AsSpan(0, n), out UndoItem? item, out DecodeError e)
                || item is null || !item.Path.AsSpan().SequenceEqual(path))
            {
                throw new InvalidOperationException("an applied undo item does not round-trip through the undo codec");
            }
        }

        public void Completion(ulong seq, in OpCompletion completion)
        {
            Calls++;
            if (!RecordCodec.TryEncodeCompletion(buffer, completion, out int n) || !RecordCodec.TryDecodeCompletion(buffer.AsSpan(0, n), out _, out _))
            {
                throw new InvalidOperationException("an applied completion does not round-trip through the record codec");
            }
        }

        public void DeleteUndo(ulong seq, uint part) => Calls++;
    }
}
