using System.Buffers.Binary;

namespace Scoord.Journal.Codec;

/// <summary>
/// CHECKPOINT records (type 5; docs/journal-format.md 4.6). Payload:
/// u32 id, u32 reserved (0), u64 seq, i64 timeNs, u64 epoch, byte string name (UTF-8).
/// The same record is stored in "checkpoints" under the id (u32 BE) and in "ops" under the seq.
/// Like <see cref="RecordCodec"/>: encoders return false when the span is too small, decoders never throw.
/// </summary>
public static class CheckpointCodec
{
    /// <summary>Fixed part of the payload, before the name.</summary>
    public const int FixedSize = 32;

    /// <summary>Size of the key in "checkpoints": the id as u32 big-endian.</summary>
    public const int KeySize = 4;

    public static int RecordSize(int nameLength) =>
        checked(RecordLayout.FrameSize + FixedSize + RecordLayout.StringPrefixSize + nameLength);

    public static void WriteKey(Span<byte> key, int id) => BinaryPrimitives.WriteUInt32BigEndian(key, checked((uint)id));

    public static bool TryEncode(Span<byte> destination, int id, ulong seq, long timeNs, ulong epoch, ReadOnlySpan<byte> name, out int bytesWritten)
    {
        if (id <= 0 || (long)RecordLayout.FrameSize + FixedSize + RecordLayout.StringPrefixSize + name.Length > destination.Length)
        {
            bytesWritten = 0;
            return false;
        }

        Span<byte> p = destination[RecordLayout.HeaderSize..];
        BinaryPrimitives.WriteUInt32LittleEndian(p, (uint)id);
        BinaryPrimitives.WriteUInt32LittleEndian(p[4..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(p[8..], seq);
        BinaryPrimitives.WriteInt64LittleEndian(p[16..], timeNs);
        BinaryPrimitives.WriteUInt64LittleEndian(p[24..], epoch);
        BinaryPrimitives.WriteUInt32LittleEndian(p[FixedSize..], (uint)name.Length);
        name.CopyTo(p[(FixedSize + RecordLayout.StringPrefixSize)..]);
        bytesWritten = RecordCodec.Seal(destination, RecordType.Checkpoint, FixedSize + RecordLayout.StringPrefixSize + name.Length);
        return true;
    }

    public static byte[] Encode(CheckpointInfo checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        byte[] name = System.Text.Encoding.UTF8.GetBytes(checkpoint.Name);
        byte[] record = new byte[RecordSize(name.Length)];
        if (!TryEncode(record, checkpoint.Id, checkpoint.Seq, checkpoint.TimeNs, checkpoint.Epoch, name, out _))
        {
            throw new ArgumentException("checkpoint id must be at least 1", nameof(checkpoint));
        }

        return record;
    }

    /// <summary>Decodes a whole CHECKPOINT record (frame checks first, then the payload).</summary>
    public static bool TryDecode(ReadOnlySpan<byte> input, out CheckpointInfo? checkpoint, out DecodeError error)
    {
        checkpoint = null;
        return PayloadCheck.TryReadFrameOf(input, RecordType.Checkpoint, out ReadOnlySpan<byte> payload, out error)
            && TryParsePayload(payload, out checkpoint, out error);
    }

    /// <summary>Parses the payload of a frame already checked by <see cref="RecordCodec.TryReadFrame"/>.</summary>
    public static bool TryParsePayload(ReadOnlySpan<byte> p, out CheckpointInfo? checkpoint, out DecodeError error)
    {
        checkpoint = null;
        if (!PayloadCheck.AtLeast(p, FixedSize + RecordLayout.StringPrefixSize, out error)
            || !PayloadCheck.Reserved(BinaryPrimitives.ReadUInt32LittleEndian(p[4..]) == 0, out error))
        {
            return false;
        }

        uint id = BinaryPrimitives.ReadUInt32LittleEndian(p);
        if (id == 0 || id > int.MaxValue)
        {
            error = DecodeError.InvalidValue;
            return false;
        }

        ulong nameLength = BinaryPrimitives.ReadUInt32LittleEndian(p[FixedSize..]);
        ReadOnlySpan<byte> rest = p[(FixedSize + RecordLayout.StringPrefixSize)..];
        if (nameLength > (ulong)rest.Length)
        {
            error = DecodeError.StringOutOfBounds;
            return false;
        }

        if (nameLength != (ulong)rest.Length)
        {
            error = DecodeError.TrailingBytes;
            return false;
        }

        checkpoint = new CheckpointInfo(
            (int)id,
            PathText.ToText(rest),
            BinaryPrimitives.ReadUInt64LittleEndian(p[8..]),
            BinaryPrimitives.ReadInt64LittleEndian(p[16..]),
            BinaryPrimitives.ReadUInt64LittleEndian(p[24..]));
        error = DecodeError.None;
        return true;
    }
}
