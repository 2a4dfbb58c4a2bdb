using System.Runtime.InteropServices;
using Scoord.Interceptors.Decoding;
using Scoord.Interceptors.Syscalls;
using Scoord.Journal.Model;
using Scoord.Journal.Undo;

namespace Scoord.Journal.Ring;

/// <summary>Why a ring record was not applied.</summary>
public enum RingRecordError
{
    None = 0,
    /// <summary>Its length or type does not fit the ring (the app scribbled on it, or it is not a ring).</summary>
    BadFrame,
    /// <summary>A field is out of range or a string runs past the record.</summary>
    BadPayload,
}

/// <summary>
/// Decodes ring records (docs/journal-format.md, section 9) from a private copy of their bytes (the app may
/// change the ring while it is read) and turns them into journal records through a <see cref="JournalWriter"/>:
/// INTENT into the intent and its undo items under its sequence number, DONE into the completion, the
/// post-states, and the removal of the fd post-state it supersedes. The live drain and crash recovery both
/// use it, so a recovered ring gives exactly the records the drain would have written. Never throws on bad
/// bytes (fuzz target `ring-record`); allocates nothing.
/// </summary>
public static class RingRecords
{
    /// <summary>Checks the frame of the record at the start of <paramref name="ring"/>[offset..]: its length (0 when bad) and type.</summary>
    public static uint FrameAt(ReadOnlySpan<byte> ring, uint offset, out ushort type, out ulong seq)
    {
        type = 0;
        seq = 0;
        if (offset + RingLayout.RecordHeaderSize > ring.Length)
        {
            return 0;
        }

        RingRecordHeader h = MemoryMarshal.Read<RingRecordHeader>(ring[(int)offset..]);
        if (h.Length < RingLayout.RecordHeaderSize || (h.Length & 15) != 0 || h.Length > ring.Length - offset
            || (h.Type != RingLayout.RecordWrap && h.Length > RingLayout.MaxRecord)
            || h.Type is not (RingLayout.RecordIntent or RingLayout.RecordDone or RingLayout.RecordWrap))
        {
            return 0;
        }

        type = h.Type;
        seq = h.Seq;
        return h.Length;
    }

    /// <summary>Checks one INTENT or DONE record (header included) without applying it (fsck).</summary>
    public static RingRecordError Check(ReadOnlySpan<byte> record)
    {
        if (record.Length < RingLayout.RecordHeaderSize)
        {
            return RingRecordError.BadFrame;
        }

        RingRecordHeader h = MemoryMarshal.Read<RingRecordHeader>(record);
        ReadOnlySpan<byte> body = record[RingLayout.RecordHeaderSize..];
        RingRecordError e = h.Type switch
        {
            RingLayout.RecordIntent => CheckIntent(body),
            RingLayout.RecordDone => CheckDone(body),
            _ => RingRecordError.BadFrame,
        };
        return e == RingRecordError.None && h.Seq == 0 ? RingRecordError.BadPayload : e;
    }

    /// <summary>Applies one INTENT or DONE record (header included) to <paramref name="writer"/>'s batch.</summary>
    public static RingRecordError Apply(ReadOnlySpan<byte> record, JournalWriter writer)
    {
        var sink = new WriterSink(writer);
        return Apply(record, ref sink);
    }

    /// <summary>Applies one INTENT or DONE record (header included) to <paramref name="sink"/>; nothing at all when it is not well formed.</summary>
    public static RingRecordError Apply<TSink>(ReadOnlySpan<byte> record, ref TSink sink)
        where TSink : struct, IRingSink
    {
        if (record.Length < RingLayout.RecordHeaderSize)
        {
            return RingRecordError.BadFrame;
        }

        RingRecordHeader h = MemoryMarshal.Read<RingRecordHeader>(record);
        ReadOnlySpan<byte> body = record[RingLayout.RecordHeaderSize..];
        RingRecordError check = h.Type switch
        {
            RingLayout.RecordIntent => CheckIntent(body),
            RingLayout.RecordDone => CheckDone(body),
            _ => RingRecordError.BadFrame,
        };
        if (check != RingRecordError.None || h.Seq == 0)
        {
            return check != RingRecordError.None ? check : RingRecordError.BadPayload;
        }

        // Everything checked: now write (nothing is half-applied on bad bytes).
        if (h.Type == RingLayout.RecordIntent)
        {
            ApplyIntent(h.Seq, body, ref sink);
        }
        else
        {
            ApplyDone(h.Seq, body, ref sink);
        }

        return RingRecordError.None;
    }

    private static RingRecordError CheckIntent(ReadOnlySpan<byte> body)
    {
        if (body.Length < RingLayout.IntentSize)
        {
            return RingRecordError.BadPayload;
        }

        RingIntent i = MemoryMarshal.Read<RingIntent>(body);
        if (i.PathLength > 4096 || i.Path2Length > 4096 || i.Kind > (byte)ObjectKind.BlockDevice
            || RingLayout.IntentSize + (long)i.PathLength + i.Path2Length > body.Length)
        {
            return RingRecordError.BadPayload;
        }

        int at = Align8(RingLayout.IntentSize + (int)i.PathLength + (int)i.Path2Length);
        return CheckItems(body, at, i.ItemCount);
    }

    private static RingRecordError CheckDone(ReadOnlySpan<byte> body)
    {
        if (body.Length < RingLayout.DoneSize)
        {
            return RingRecordError.BadPayload;
        }

        RingDone d = MemoryMarshal.Read<RingDone>(body);
        if (d.FirstPart > 255 || d.Errno < 0 || d.Errno > 4095)
        {
            return RingRecordError.BadPayload;
        }

        return CheckItems(body, RingLayout.DoneSize, d.ItemCount);
    }

    private static RingRecordError CheckItems(ReadOnlySpan<byte> body, int at, int count)
    {
        for (int n = 0; n < count; n++)
        {
            if (at > body.Length - RingLayout.ItemSize)
            {
                return RingRecordError.BadPayload;
            }

            RingItem it = MemoryMarshal.Read<RingItem>(body[at..]);
            long varLen = (long)it.PathLength + it.DataLength + it.XattrLength;
            if (it.Kind is < (byte)UndoKind.ObjectState or > (byte)UndoKind.PostState || it.Role > (byte)UndoRole.Second
                || it.PathLength > 4096 || varLen > body.Length - at - RingLayout.ItemSize
                || (it.XattrLength != 0 && it.XattrLength < 4) || (it.Flags & ~7) != 0)
            {
                return RingRecordError.BadPayload;
            }

            if (it.XattrLength != 0 && !XattrsWellFormed(body.Slice(at + RingLayout.ItemSize + (int)(it.PathLength + it.DataLength), (int)it.XattrLength)))
            {
                return RingRecordError.BadPayload;
            }

            at += Align8(RingLayout.ItemSize + (int)varLen);
        }

        return RingRecordError.None;
    }

    /// <summary>The undo codec's xattr encoding, exactly: u32 count, then (u32 len, name, u32 len, value) per attribute.</summary>
    private static bool XattrsWellFormed(ReadOnlySpan<byte> x)
    {
        uint count = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(x);
        int at = 4;
        for (uint n = 0; n < count; n++)
        {
            for (int part = 0; part < 2; part++)
            {
                if (x.Length - at < 4)
                {
                    return false;
                }

                uint len = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(x[at..]);
                if (len > x.Length - at - 4)
                {
                    return false;
                }

                at += 4 + (int)len;
            }
        }

        return at == x.Length;
    }

    private static void ApplyIntent<TSink>(ulong seq, ReadOnlySpan<byte> body, ref TSink sink)
        where TSink : struct, IRingSink
    {
        RingIntent i = MemoryMarshal.Read<RingIntent>(body);
        var intent = new OpIntent
        {
            TimeNs = i.TimeNs,
            Pid = i.Pid,
            Tid = i.Tid,
            Op = (OpCode)i.Op,
            Flags = (IntentFlags)i.IntentFlags & ~(IntentFlags.Refused | IntentFlags.Rollback),
            Fd = i.Fd,
            OpFlags = i.OpFlags,
            Mode = i.Mode,
            Offset = i.Offset,
            Length = i.Length,
            Uid = i.Uid,
            Gid = i.Gid,
            Dev = i.Dev,
            Ino = i.Ino,
            Kind = (ObjectKind)i.Kind,
        };
        ReadOnlySpan<byte> path = body.Slice(RingLayout.IntentSize, (int)i.PathLength);
        ReadOnlySpan<byte> path2 = body.Slice(RingLayout.IntentSize + (int)i.PathLength, (int)i.Path2Length);
        sink.Intent(seq, intent, path, path2);
        int at = Align8(RingLayout.IntentSize + (int)i.PathLength + (int)i.Path2Length);
        ApplyItems(seq, 0, body, at, i.ItemCount, ref sink);
    }

    private static void ApplyDone<TSink>(ulong seq, ReadOnlySpan<byte> body, ref TSink sink)
        where TSink : struct, IRingSink
    {
        RingDone d = MemoryMarshal.Read<RingDone>(body);
        var c = new OpCompletion { TimeNs = d.TimeNs, Result = d.Result, Errno = d.Errno };
        sink.Completion(seq, c);
        ApplyItems(seq, d.FirstPart, body, RingLayout.DoneSize, d.ItemCount, ref sink);
        if ((d.DoneFlags & RingLayout.DoneSupersede) != 0 && d.SupersedeSeq != 0 && d.SupersedeSeq < seq)
        {
            sink.DeleteUndo(d.SupersedeSeq, d.SupersedePart);
        }
    }

    private static void ApplyItems<TSink>(ulong seq, uint firstPart, ReadOnlySpan<byte> body, int at, int count, ref TSink sink)
        where TSink : struct, IRingSink
    {
        for (int n = 0; n < count; n++)
        {
            RingItem it = MemoryMarshal.Read<RingItem>(body[at..]);
            var h = new UndoCodec.Header
            {
                Kind = (UndoKind)it.Kind,
                Role = (UndoRole)it.Role,
                Flags = (UndoFlags)it.Flags,
                Dev = it.Dev,
                Ino = it.Ino,
                Size = it.Size,
                Offset = it.Offset,
                Length = it.Length,
                Mode = it.Mode,
                Uid = it.Uid,
                Gid = it.Gid,
                Nlink = it.Nlink,
                AtimeNs = it.AtimeNs,
                MtimeNs = it.MtimeNs,
                CtimeNs = it.CtimeNs,
            };
            int v = at + RingLayout.ItemSize;
            ReadOnlySpan<byte> path = body.Slice(v, (int)it.PathLength);
            ReadOnlySpan<byte> data = body.Slice(v + (int)it.PathLength, (int)it.DataLength);
            ReadOnlySpan<byte> xattrs = body.Slice(v + (int)it.PathLength + (int)it.DataLength, (int)it.XattrLength);
            sink.Undo(seq, firstPart + (uint)n, h, path, data, xattrs);
            at += Align8(RingLayout.ItemSize + (int)(it.PathLength + it.DataLength + it.XattrLength));
        }
    }

    private static int Align8(int n) => (n + 7) & ~7;

    /// <summary>The journal writer as a sink: what the drain and recovery use.</summary>
    private readonly struct WriterSink(JournalWriter writer) : IRingSink
    {
        public void Intent(ulong seq, in OpIntent intent, ReadOnlySpan<byte> path, ReadOnlySpan<byte> path2) => writer.AppendIntent(seq, intent, path, path2);

        public void Undo(ulong seq, uint part, in UndoCodec.Header header, ReadOnlySpan<byte> path, ReadOnlySpan<byte> data, ReadOnlySpan<byte> xattrs)
            => writer.AppendUndo(seq, part, header, path, data, xattrs);

        public void Completion(ulong seq, in OpCompletion completion) => writer.AppendCompletion(seq, completion);

        public void DeleteUndo(ulong seq, uint part) => writer.DeleteUndo(seq, part);
    }
}

/// <summary>Where the records a ring record makes go (the journal writer; a checking sink in the fuzz target).</summary>
public interface IRingSink
{
    void Intent(ulong seq, in OpIntent intent, ReadOnlySpan<byte> path, ReadOnlySpan<byte> path2);

    void Undo(ulong seq, uint part, in UndoCodec.Header header, ReadOnlySpan<byte> path, ReadOnlySpan<byte> data, ReadOnlySpan<byte> xattrs);

    void Completion(ulong seq, in OpCompletion completion);

    void DeleteUndo(ulong seq, uint part);
}
