using System.Buffers.Binary;
using Scoord.Journal.Codec;

namespace Scoord.Journal.Undo;

/// <summary>
/// Encodes and decodes undo items (record type 6, stored in the "undo" column family under
/// seq(8, BE) + part(4, BE)). Payload, little-endian:
/// u8 kind, u8 role, u16 flags, u32 reserved(0), u64 dev, u64 ino, i64 size, i64 offset, i64 length,
/// u32 mode, u32 uid, u32 gid, u32 nlink, i64 atime_ns, i64 mtime_ns, i64 ctime_ns (fixed: 88 bytes),
/// then string path, string data, u32 xattr count, (string name, string value) per xattr.
/// </summary>
public static class UndoCodec
{
    public const int FixedSize = 88;

    /// <summary>Fixed fields of an item, filled on the capture side's stack.</summary>
    public struct Header
    {
        public UndoKind Kind;
        public UndoRole Role;
        public UndoFlags Flags;
        public ulong Dev;
        public ulong Ino;
        public long Size;
        public long Offset;
        public long Length;
        public uint Mode;
        public uint Uid;
        public uint Gid;
        public uint Nlink;
        public long AtimeNs;
        public long MtimeNs;
        public long CtimeNs;
    }

    /// <summary>Bytes an item needs; xattrs are passed pre-encoded (u32 count then name/value strings).</summary>
    public static int Size(int pathLength, int dataLength, int encodedXattrsLength)
        => RecordLayout.FrameSize + FixedSize + 4 + pathLength + 4 + dataLength + Math.Max(4, encodedXattrsLength);

    /// <summary>
    /// Encodes into <paramref name="destination"/>. <paramref name="encodedXattrs"/> is empty (no xattrs)
    /// or "u32 count, then (u32 len, name, u32 len, value) per attribute".
    /// </summary>
    public static bool TryEncode(Span<byte> destination, in Header h, ReadOnlySpan<byte> path, ReadOnlySpan<byte> data, ReadOnlySpan<byte> encodedXattrs, out int written)
    {
        int need = Size(path.Length, data.Length, encodedXattrs.Length);
        if (destination.Length < need)
        {
            written = 0;
            return false;
        }

        Span<byte> p = destination[RecordLayout.HeaderSize..];
        p[0] = (byte)h.Kind;
        p[1] = (byte)h.Role;
        BinaryPrimitives.WriteUInt16LittleEndian(p[2..], (ushort)h.Flags);
        BinaryPrimitives.WriteUInt32LittleEndian(p[4..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(p[8..], h.Dev);
        BinaryPrimitives.WriteUInt64LittleEndian(p[16..], h.Ino);
        BinaryPrimitives.WriteInt64LittleEndian(p[24..], h.Size);
        BinaryPrimitives.WriteInt64LittleEndian(p[32..], h.Offset);
        BinaryPrimitives.WriteInt64LittleEndian(p[40..], h.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(p[48..], h.Mode);
        BinaryPrimitives.WriteUInt32LittleEndian(p[52..], h.Uid);
        BinaryPrimitives.WriteUInt32LittleEndian(p[56..], h.Gid);
        BinaryPrimitives.WriteUInt32LittleEndian(p[60..], h.Nlink);
        BinaryPrimitives.WriteInt64LittleEndian(p[64..], h.AtimeNs);
        BinaryPrimitives.WriteInt64LittleEndian(p[72..], h.MtimeNs);
        BinaryPrimitives.WriteInt64LittleEndian(p[80..], h.CtimeNs);
        int at = FixedSize;
        BinaryPrimitives.WriteUInt32LittleEndian(p[at..], (uint)path.Length);
        path.CopyTo(p[(at + 4)..]);
        at += 4 + path.Length;
        BinaryPrimitives.WriteUInt32LittleEndian(p[at..], (uint)data.Length);
        data.CopyTo(p[(at + 4)..]);
        at += 4 + data.Length;
        if (encodedXattrs.IsEmpty)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(p[at..], 0);
            at += 4;
        }
        else
        {
            encodedXattrs.CopyTo(p[at..]);
            at += encodedXattrs.Length;
        }

        written = RecordCodec.Seal(destination, RecordType.Undo, at);
        return true;
    }

    /// <summary>Decodes one undo value; never throws on damaged input.</summary>
    public static bool TryDecode(ulong seq, uint part, ReadOnlySpan<byte> input, out UndoItem? item, out DecodeError error)
        => TryDecode(seq, part, input, skipBulkData: false, out item, out error);

    /// <summary>
    /// Decodes one undo value; with <paramref name="skipBulkData"/> the bytes of Blocks and Content items
    /// are checked but not copied (their <see cref="UndoItem.Length"/> still says how many there are): a
    /// reader that looks at the history of many files fetches the bytes it needs later, by key.
    /// </summary>
    public static bool TryDecode(ulong seq, uint part, ReadOnlySpan<byte> input, bool skipBulkData, out UndoItem? item, out DecodeError error)
    {
        item = null;
        if (!PayloadCheck.TryReadFrameOf(input, RecordType.Undo, out ReadOnlySpan<byte> p, out error)
            || !PayloadCheck.AtLeast(p, FixedSize + 12, out error))
        {
            return false;
        }

        int at = FixedSize;
        bool bulk = skipBulkData && (UndoKind)p[0] is UndoKind.Blocks or UndoKind.Content;
        if (!TryString(p, ref at, out byte[] path) || !TryString(p, ref at, out byte[] data, copy: !bulk) || p.Length - at < 4)
        {
            error = DecodeError.StringOutOfBounds;
            return false;
        }

        uint count = BinaryPrimitives.ReadUInt32LittleEndian(p[at..]);
        at += 4;
        if (count > (uint)(p.Length - at) / 8)
        {
            error = DecodeError.StringOutOfBounds;
            return false;
        }

        var xattrs = new List<(byte[], byte[])>((int)count);
        for (uint i = 0; i < count; i++)
        {
            if (!TryString(p, ref at, out byte[] name) || !TryString(p, ref at, out byte[] value))
            {
                error = DecodeError.StringOutOfBounds;
                return false;
            }

            xattrs.Add((name, value));
        }

        if (at != p.Length)
        {
            error = DecodeError.TrailingBytes;
            return false;
        }

        item = new UndoItem
        {
            Seq = seq,
            Part = part,
            Kind = (UndoKind)p[0],
            Role = (UndoRole)p[1],
            Flags = (UndoFlags)BinaryPrimitives.ReadUInt16LittleEndian(p[2..]),
            Dev = BinaryPrimitives.ReadUInt64LittleEndian(p[8..]),
            Ino = BinaryPrimitives.ReadUInt64LittleEndian(p[16..]),
            Size = BinaryPrimitives.ReadInt64LittleEndian(p[24..]),
            Offset = BinaryPrimitives.ReadInt64LittleEndian(p[32..]),
            Length = BinaryPrimitives.ReadInt64LittleEndian(p[40..]),
            Mode = BinaryPrimitives.ReadUInt32LittleEndian(p[48..]),
            Uid = BinaryPrimitives.ReadUInt32LittleEndian(p[52..]),
            Gid = BinaryPrimitives.ReadUInt32LittleEndian(p[56..]),
            Nlink = BinaryPrimitives.ReadUInt32LittleEndian(p[60..]),
            AtimeNs = BinaryPrimitives.ReadInt64LittleEndian(p[64..]),
            MtimeNs = BinaryPrimitives.ReadInt64LittleEndian(p[72..]),
            CtimeNs = BinaryPrimitives.ReadInt64LittleEndian(p[80..]),
            Path = path,
            Data = data,
            Xattrs = xattrs,
        };
        if (item.Kind is < UndoKind.ObjectState or > UndoKind.PostState)
        {
            item = null;
            error = DecodeError.UnknownType;
            return false;
        }

        error = DecodeError.None;
        return true;
    }

    /// <summary>
    /// The bytes of an undo value (a Blocks or Content item's data) without decoding the rest: the frame and
    /// its checksum are checked, and where the data lies in it.
    /// </summary>
    public static bool TryReadData(ReadOnlySpan<byte> input, out ReadOnlySpan<byte> data, out DecodeError error)
    {
        data = default;
        if (!PayloadCheck.TryReadFrameOf(input, RecordType.Undo, out ReadOnlySpan<byte> p, out error)
            || !PayloadCheck.AtLeast(p, FixedSize + 12, out error))
        {
            return false;
        }

        int at = FixedSize;
        if (!TryString(p, ref at, out _, copy: false) || p.Length - at < 4)
        {
            error = DecodeError.StringOutOfBounds;
            return false;
        }

        uint len = BinaryPrimitives.ReadUInt32LittleEndian(p[at..]);
        if (len > (uint)(p.Length - at - 4))
        {
            error = DecodeError.StringOutOfBounds;
            return false;
        }

        data = p.Slice(at + 4, (int)len);
        return true;
    }

    private static bool TryString(ReadOnlySpan<byte> p, ref int at, out byte[] value, bool copy = true)
    {
        value = [];
        if (p.Length - at < 4)
        {
            return false;
        }

        uint len = BinaryPrimitives.ReadUInt32LittleEndian(p[at..]);
        if (len > (uint)(p.Length - at - 4))
        {
            return false;
        }

        value = copy ? p.Slice(at + 4, (int)len).ToArray() : [];
        at += 4 + (int)len;
        return true;
    }

    /// <summary>Key of an undo item: seq (8 bytes BE) then part (4 bytes BE).</summary>
    public static void WriteKey(Span<byte> key, ulong seq, uint part)
    {
        BinaryPrimitives.WriteUInt64BigEndian(key, seq);
        BinaryPrimitives.WriteUInt32BigEndian(key[8..], part);
    }
}
