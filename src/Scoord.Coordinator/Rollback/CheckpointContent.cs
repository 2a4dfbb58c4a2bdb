using Scoord.Coordinator.Rollback.Model;
using Scoord.Journal;
using Scoord.Journal.Undo;

namespace Scoord.Coordinator.Rollback;

/// <summary>What a byte range of a file held at the checkpoint.</summary>
internal enum SegmentKind
{
    /// <summary>These bytes (a pre-image or a whole copy holds them).</summary>
    Data,
    /// <summary>A hole.</summary>
    Hole,
    /// <summary>No journaled operation changed these bytes since the checkpoint, so the journal holds no copy: what the file holds now.</summary>
    Unchanged,
}

/// <summary>A range of a file's content at the checkpoint; for Data, where its bytes are (item and offset in it).</summary>
internal readonly record struct Segment(long Start, long End, SegmentKind Kind, UndoItem? Item)
{
    public long Length => End - Start;
}

/// <summary>
/// The content a regular file had at the checkpoint, as segments in offset order: for every byte the
/// earliest source after the checkpoint that covers it (a pre-image captured before the first change of
/// that block, or the whole copy taken when the file was removed or replaced) holds its value then; bytes
/// no source covers were not changed by any journaled operation. The bytes themselves are read from the
/// journal only when asked for (<see cref="Bytes"/>).
/// </summary>
internal sealed class CheckpointContent
{
    private readonly JournalReader? _reader;

    // The last item read, on this thread: segments of one file mostly come from one item (a whole copy),
    // and one buffer for all files keeps a rollback of many files from allocating one array per file.
    [ThreadStatic]
    private static byte[]? t_buffer;
    [ThreadStatic]
    private static int t_length;
    [ThreadStatic]
    private static (ulong Seq, uint Part, JournalReader? Reader) t_item;

    private CheckpointContent(long size, List<Segment> segments, JournalReader? reader)
    {
        Size = size;
        Segments = segments;
        _reader = reader;
    }

    public long Size { get; }

    public List<Segment> Segments { get; }

    /// <summary>Bytes of [0, Size) that no source covers.</summary>
    public long UnchangedBytes => Segments.Where(s => s.Kind == SegmentKind.Unchanged).Sum(s => s.Length);

    public static CheckpointContent Of(TrackedObject o, JournalReader? reader)
    {
        long size = o.AtCheckpoint?.Size ?? 0;
        var covered = new RangeSet();
        var segments = new List<Segment>();
        foreach (ContentSource src in o.Sources)
        {
            if (!src.Whole)
            {
                UndoItem it = src.Items[0];
                bool hole = (it.Flags & UndoFlags.Hole) != 0;
                foreach ((long s, long e) in covered.Claim(it.Offset, Math.Min(it.Offset + it.Length, size)))
                {
                    segments.Add(new Segment(s, e, hole ? SegmentKind.Hole : SegmentKind.Data, hole ? null : it));
                }

                continue;
            }

            // A whole copy: its Content items in offset order, gaps are holes, up to the size it had then.
            long limit = Math.Min(src.Size, size);
            long pos = 0;
            foreach (UndoItem c in src.Items.OrderBy(i => i.Offset))
            {
                long cs = Math.Min(c.Offset, limit), ce = Math.Min(c.Offset + c.Length, limit);
                foreach ((long s, long e) in covered.Claim(pos, cs))
                {
                    segments.Add(new Segment(s, e, SegmentKind.Hole, null));
                }

                foreach ((long s, long e) in covered.Claim(cs, ce))
                {
                    segments.Add(new Segment(s, e, SegmentKind.Data, c));
                }

                pos = Math.Max(pos, ce);
            }

            foreach ((long s, long e) in covered.Claim(pos, limit))
            {
                segments.Add(new Segment(s, e, SegmentKind.Hole, null));
            }
        }

        foreach ((long s, long e) in covered.Claim(0, size))
        {
            segments.Add(new Segment(s, e, SegmentKind.Unchanged, null));
        }

        segments.Sort((a, b) => a.Start.CompareTo(b.Start));
        return new CheckpointContent(size, segments, reader);
    }

    /// <summary>The checkpoint bytes of a Data segment: valid until the next call on this thread.</summary>
    public ReadOnlySpan<byte> Bytes(in Segment s)
    {
        UndoItem item = s.Item!;
        ReadOnlySpan<byte> data = item.Data;
        if (data.Length < item.Length)
        {
            if (t_buffer is null || t_item != (item.Seq, item.Part, _reader))
            {
                t_buffer ??= new byte[64 * 1024];
                t_item = default;
                t_length = _reader?.ReadUndoData(item.Seq, item.Part, ref t_buffer) ?? -1;
                t_length = Math.Max(t_length, 0);
                t_item = (item.Seq, item.Part, _reader);
            }

            data = t_buffer.AsSpan(0, t_length);
        }

        int from = (int)(s.Start - item.Offset);
        if (from < 0 || from + s.Length > data.Length)
        {
            return default; // damaged: fewer bytes than the item says (fsck reports it)
        }

        return data.Slice(from, (int)s.Length);
    }
}
