using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Scoord.Interceptors.Decoding;
using Scoord.Interceptors.Syscalls;
using Scoord.Journal.Model;

namespace Scoord.Journal.Codec;

/// <summary>
/// Encodes and decodes journal records (docs/journal-format.md). Encoders write into a caller's span
/// and allocate nothing; they return false when the span is too small. Decoders never throw and never
/// read outside the input, whatever the bytes: they report the first check that failed.
/// Check order: frame length, payload length, checksum, type, version, flags, then the payload.
/// </summary>
public static class RecordCodec
{
    // ---------------------------------------------------------------- encode

    public static bool TryEncodeIntent(Span<byte> destination, in OpIntent intent, ReadOnlySpan<byte> path, ReadOnlySpan<byte> path2, out int bytesWritten)
    {
        long size = (long)RecordLayout.FrameSize + RecordLayout.IntentFixedSize + (2 * RecordLayout.StringPrefixSize) + path.Length + path2.Length;
        if (size > destination.Length)
        {
            bytesWritten = 0;
            return false;
        }

        Span<byte> p = destination[RecordLayout.HeaderSize..];
        BinaryPrimitives.WriteInt64LittleEndian(p, intent.TimeNs);
        BinaryPrimitives.WriteInt32LittleEndian(p[8..], intent.Pid);
        BinaryPrimitives.WriteInt32LittleEndian(p[12..], intent.Tid);
        BinaryPrimitives.WriteUInt16LittleEndian(p[16..], (ushort)intent.Op);
        BinaryPrimitives.WriteUInt16LittleEndian(p[18..], (ushort)intent.Flags);
        BinaryPrimitives.WriteInt32LittleEndian(p[20..], intent.Fd);
        BinaryPrimitives.WriteUInt64LittleEndian(p[24..], intent.OpFlags);
        BinaryPrimitives.WriteUInt32LittleEndian(p[32..], intent.Mode);
        BinaryPrimitives.WriteInt32LittleEndian(p[36..], intent.InjectedErrno);
        BinaryPrimitives.WriteInt64LittleEndian(p[40..], intent.Offset);
        BinaryPrimitives.WriteInt64LittleEndian(p[48..], intent.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(p[56..], intent.Uid);
        BinaryPrimitives.WriteUInt32LittleEndian(p[60..], intent.Gid);
        BinaryPrimitives.WriteUInt64LittleEndian(p[64..], intent.Dev);
        BinaryPrimitives.WriteUInt64LittleEndian(p[72..], intent.Ino);
        p[80] = (byte)intent.Kind;
        p[81] = 0;
        p[82] = 0;
        p[83] = 0;
        int at = RecordLayout.IntentFixedSize;
        at = WriteString(p, at, path);
        at = WriteString(p, at, path2);
        bytesWritten = Seal(destination, RecordType.Intent, at);
        return true;
    }

    public static bool TryEncodeCompletion(Span<byte> destination, in OpCompletion completion, out int bytesWritten)
    {
        if (destination.Length < RecordLayout.CompletionRecordSize)
        {
            bytesWritten = 0;
            return false;
        }

        Span<byte> p = destination[RecordLayout.HeaderSize..];
        BinaryPrimitives.WriteInt64LittleEndian(p, completion.TimeNs);
        BinaryPrimitives.WriteInt64LittleEndian(p[8..], completion.Result);
        BinaryPrimitives.WriteInt32LittleEndian(p[16..], completion.Errno);
        BinaryPrimitives.WriteUInt32LittleEndian(p[20..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(p[24..], completion.Dev);
        BinaryPrimitives.WriteUInt64LittleEndian(p[32..], completion.Ino);
        bytesWritten = Seal(destination, RecordType.Completion, RecordLayout.CompletionSize);
        return true;
    }

    public static bool TryEncodeProcess(Span<byte> destination, in ProcessEvent e, ReadOnlySpan<byte> path, ReadOnlySpan<byte> argv, out int bytesWritten)
    {
        long size = (long)RecordLayout.FrameSize + RecordLayout.ProcessFixedSize + (2 * RecordLayout.StringPrefixSize) + path.Length + argv.Length;
        if (size > destination.Length)
        {
            bytesWritten = 0;
            return false;
        }

        Span<byte> p = destination[RecordLayout.HeaderSize..];
        BinaryPrimitives.WriteInt64LittleEndian(p, e.TimeNs);
        BinaryPrimitives.WriteUInt16LittleEndian(p[8..], (ushort)e.Kind);
        BinaryPrimitives.WriteUInt16LittleEndian(p[10..], 0);
        BinaryPrimitives.WriteInt32LittleEndian(p[12..], e.Pid);
        BinaryPrimitives.WriteInt32LittleEndian(p[16..], e.Ppid);
        BinaryPrimitives.WriteInt32LittleEndian(p[20..], e.ExitCode);
        BinaryPrimitives.WriteInt32LittleEndian(p[24..], e.Signal);
        BinaryPrimitives.WriteUInt32LittleEndian(p[28..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(p[32..], e.CloneFlags);
        int at = RecordLayout.ProcessFixedSize;
        at = WriteString(p, at, path);
        at = WriteString(p, at, argv);
        bytesWritten = Seal(destination, RecordType.Process, at);
        return true;
    }

    public static bool TryEncodeMeta(Span<byte> destination, in JournalMeta meta, out int bytesWritten)
    {
        if (destination.Length < RecordLayout.MetaRecordSize)
        {
            bytesWritten = 0;
            return false;
        }

        Span<byte> p = destination[RecordLayout.HeaderSize..];
        BinaryPrimitives.WriteUInt32LittleEndian(p, meta.FormatVersion);
        BinaryPrimitives.WriteUInt32LittleEndian(p[4..], 0);
        meta.JournalId.TryWriteBytes(p.Slice(8, 16), bigEndian: true, out _);
        BinaryPrimitives.WriteInt64LittleEndian(p[24..], meta.CreatedNs);
        bytesWritten = Seal(destination, RecordType.Meta, RecordLayout.MetaSize);
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int WriteString(Span<byte> payload, int at, ReadOnlySpan<byte> value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(payload[at..], (uint)value.Length);
        at += RecordLayout.StringPrefixSize;
        value.CopyTo(payload[at..]);
        return at + value.Length;
    }

    /// <summary>Writes the header for a payload already in place, then the checksum; returns the record size.</summary>
    internal static int Seal(Span<byte> destination, RecordType type, int payloadLength)
    {
        destination[0] = (byte)type;
        destination[1] = RecordLayout.Version;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[2..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], (uint)payloadLength);
        int covered = RecordLayout.HeaderSize + payloadLength;
        BinaryPrimitives.WriteUInt32LittleEndian(destination[covered..], Crc32C.Compute(destination[..covered]));
        return covered + RecordLayout.ChecksumSize;
    }

    // ---------------------------------------------------------------- decode

    /// <summary>
    /// Checks the frame (lengths, checksum, type, version, flags) and returns the payload. Does not look
    /// inside the payload.
    /// </summary>
    public static bool TryReadFrame(ReadOnlySpan<byte> input, out RecordType type, out byte version, out ReadOnlySpan<byte> payload, out DecodeError error)
    {
        type = 0;
        version = 0;
        payload = default;
        if (input.Length < RecordLayout.FrameSize)
        {
            error = DecodeError.Truncated;
            return false;
        }

        uint payloadLength = BinaryPrimitives.ReadUInt32LittleEndian(input[4..]);
        if (payloadLength != (uint)(input.Length - RecordLayout.FrameSize))
        {
            error = DecodeError.LengthMismatch;
            return false;
        }

        int covered = RecordLayout.HeaderSize + (int)payloadLength;
        if (Crc32C.Compute(input[..covered]) != BinaryPrimitives.ReadUInt32LittleEndian(input[covered..]))
        {
            error = DecodeError.ChecksumMismatch;
            return false;
        }

        type = (RecordType)input[0];
        if (type is < RecordType.Intent or > RecordType.Rollback)
        {
            error = DecodeError.UnknownType;
            return false;
        }

        version = input[1];
        if (version == 0)
        {
            error = DecodeError.InvalidVersion;
            return false;
        }

        if (version > RecordLayout.Version)
        {
            error = DecodeError.NewerVersion;
            return false;
        }

        if (BinaryPrimitives.ReadUInt16LittleEndian(input[2..]) != 0)
        {
            error = DecodeError.UnknownFlags;
            return false;
        }

        payload = input.Slice(RecordLayout.HeaderSize, (int)payloadLength);
        error = DecodeError.None;
        return true;
    }

    /// <summary>Decodes a record of any type.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> input, out DecodedRecord record, out DecodeError error)
    {
        record = default;
        if (!TryReadFrame(input, out RecordType type, out byte version, out ReadOnlySpan<byte> payload, out error))
        {
            return false;
        }

        record.Type = type;
        record.Version = version;
        switch (type)
        {
            case RecordType.Intent:
                return TryParseIntent(payload, out record.Intent, out record.Bytes1, out record.Bytes2, out error);
            case RecordType.Completion:
                return TryParseCompletion(payload, out record.Completion, out error);
            case RecordType.Process:
                return TryParseProcess(payload, out record.Process, out record.Bytes1, out record.Bytes2, out error);
            case RecordType.Meta:
                return TryParseMeta(payload, out record.Meta, out error);
            default:
                // Checkpoint and undo records have decoders of their own (CheckpointCodec, UndoCodec).
                error = DecodeError.UnknownType;
                return false;
        }
    }

    public static bool TryDecodeIntent(ReadOnlySpan<byte> input, out OpIntent intent, out ReadOnlySpan<byte> path, out ReadOnlySpan<byte> path2, out DecodeError error)
    {
        intent = default;
        path = default;
        path2 = default;
        return PayloadCheck.TryReadFrameOf(input, RecordType.Intent, out ReadOnlySpan<byte> payload, out error)
            && TryParseIntent(payload, out intent, out path, out path2, out error);
    }

    public static bool TryDecodeCompletion(ReadOnlySpan<byte> input, out OpCompletion completion, out DecodeError error)
    {
        completion = default;
        return PayloadCheck.TryReadFrameOf(input, RecordType.Completion, out ReadOnlySpan<byte> payload, out error)
            && TryParseCompletion(payload, out completion, out error);
    }

    public static bool TryDecodeProcess(ReadOnlySpan<byte> input, out ProcessEvent processEvent, out ReadOnlySpan<byte> path, out ReadOnlySpan<byte> argv, out DecodeError error)
    {
        processEvent = default;
        path = default;
        argv = default;
        return PayloadCheck.TryReadFrameOf(input, RecordType.Process, out ReadOnlySpan<byte> payload, out error)
            && TryParseProcess(payload, out processEvent, out path, out argv, out error);
    }

    public static bool TryDecodeMeta(ReadOnlySpan<byte> input, out JournalMeta meta, out DecodeError error)
    {
        meta = default;
        return PayloadCheck.TryReadFrameOf(input, RecordType.Meta, out ReadOnlySpan<byte> payload, out error)
            && TryParseMeta(payload, out meta, out error);
    }

    private static bool TryParseIntent(ReadOnlySpan<byte> p, out OpIntent intent, out ReadOnlySpan<byte> path, out ReadOnlySpan<byte> path2, out DecodeError error)
    {
        intent = default;
        path = default;
        path2 = default;
        if (!PayloadCheck.AtLeast(p, RecordLayout.IntentFixedSize, out error)
            || !PayloadCheck.Reserved(p[81] == 0 && p[82] == 0 && p[83] == 0, out error))
        {
            return false;
        }

        intent.TimeNs = BinaryPrimitives.ReadInt64LittleEndian(p);
        intent.Pid = BinaryPrimitives.ReadInt32LittleEndian(p[8..]);
        intent.Tid = BinaryPrimitives.ReadInt32LittleEndian(p[12..]);
        intent.Op = (OpCode)BinaryPrimitives.ReadUInt16LittleEndian(p[16..]);
        intent.Flags = (IntentFlags)BinaryPrimitives.ReadUInt16LittleEndian(p[18..]);
        intent.Fd = BinaryPrimitives.ReadInt32LittleEndian(p[20..]);
        intent.OpFlags = BinaryPrimitives.ReadUInt64LittleEndian(p[24..]);
        intent.Mode = BinaryPrimitives.ReadUInt32LittleEndian(p[32..]);
        intent.InjectedErrno = BinaryPrimitives.ReadInt32LittleEndian(p[36..]);
        intent.Offset = BinaryPrimitives.ReadInt64LittleEndian(p[40..]);
        intent.Length = BinaryPrimitives.ReadInt64LittleEndian(p[48..]);
        intent.Uid = BinaryPrimitives.ReadUInt32LittleEndian(p[56..]);
        intent.Gid = BinaryPrimitives.ReadUInt32LittleEndian(p[60..]);
        intent.Dev = BinaryPrimitives.ReadUInt64LittleEndian(p[64..]);
        intent.Ino = BinaryPrimitives.ReadUInt64LittleEndian(p[72..]);
        intent.Kind = (ObjectKind)p[80];
        ReadOnlySpan<byte> rest = p[RecordLayout.IntentFixedSize..];
        return TryReadTwoStrings(rest, out path, out path2, out error);
    }

    private static bool TryParseCompletion(ReadOnlySpan<byte> p, out OpCompletion completion, out DecodeError error)
    {
        completion = default;
        if (!PayloadCheck.Exactly(p, RecordLayout.CompletionSize, out error)
            || !PayloadCheck.Reserved(BinaryPrimitives.ReadUInt32LittleEndian(p[20..]) == 0, out error))
        {
            return false;
        }

        completion.TimeNs = BinaryPrimitives.ReadInt64LittleEndian(p);
        completion.Result = BinaryPrimitives.ReadInt64LittleEndian(p[8..]);
        completion.Errno = BinaryPrimitives.ReadInt32LittleEndian(p[16..]);
        completion.Dev = BinaryPrimitives.ReadUInt64LittleEndian(p[24..]);
        completion.Ino = BinaryPrimitives.ReadUInt64LittleEndian(p[32..]);
        return true;
    }

    private static bool TryParseProcess(ReadOnlySpan<byte> p, out ProcessEvent e, out ReadOnlySpan<byte> path, out ReadOnlySpan<byte> argv, out DecodeError error)
    {
        e = default;
        path = default;
        argv = default;
        if (!PayloadCheck.AtLeast(p, RecordLayout.ProcessFixedSize, out error)
            || !PayloadCheck.Reserved(BinaryPrimitives.ReadUInt16LittleEndian(p[10..]) == 0 && BinaryPrimitives.ReadUInt32LittleEndian(p[28..]) == 0, out error))
        {
            return false;
        }

        e.TimeNs = BinaryPrimitives.ReadInt64LittleEndian(p);
        e.Kind = (OpCode)BinaryPrimitives.ReadUInt16LittleEndian(p[8..]);
        e.Pid = BinaryPrimitives.ReadInt32LittleEndian(p[12..]);
        e.Ppid = BinaryPrimitives.ReadInt32LittleEndian(p[16..]);
        e.ExitCode = BinaryPrimitives.ReadInt32LittleEndian(p[20..]);
        e.Signal = BinaryPrimitives.ReadInt32LittleEndian(p[24..]);
        e.CloneFlags = BinaryPrimitives.ReadUInt64LittleEndian(p[32..]);
        return TryReadTwoStrings(p[RecordLayout.ProcessFixedSize..], out path, out argv, out error);
    }

    private static bool TryParseMeta(ReadOnlySpan<byte> p, out JournalMeta meta, out DecodeError error)
    {
        meta = default;
        if (!PayloadCheck.Exactly(p, RecordLayout.MetaSize, out error)
            || !PayloadCheck.Reserved(BinaryPrimitives.ReadUInt32LittleEndian(p[4..]) == 0, out error))
        {
            return false;
        }

        meta.FormatVersion = BinaryPrimitives.ReadUInt32LittleEndian(p);
        meta.JournalId = new Guid(p.Slice(8, 16), bigEndian: true);
        meta.CreatedNs = BinaryPrimitives.ReadInt64LittleEndian(p[24..]);
        return true;
    }

    private static bool TryReadTwoStrings(ReadOnlySpan<byte> rest, out ReadOnlySpan<byte> first, out ReadOnlySpan<byte> second, out DecodeError error)
    {
        second = default;
        int at = 0;
        if (!TryReadString(rest, ref at, out first, out error) || !TryReadString(rest, ref at, out second, out error))
        {
            return false;
        }

        return PayloadCheck.Exactly(rest, at, out error);
    }

    private static bool TryReadString(ReadOnlySpan<byte> rest, scoped ref int at, out ReadOnlySpan<byte> value, out DecodeError error)
    {
        value = default;
        int left = rest.Length - at;
        if (left < RecordLayout.StringPrefixSize)
        {
            error = DecodeError.PayloadTooShort;
            return false;
        }

        // Compare as unsigned 64-bit so a huge length can never wrap into a small one.
        ulong length = BinaryPrimitives.ReadUInt32LittleEndian(rest[at..]);
        if (length > (ulong)(left - RecordLayout.StringPrefixSize))
        {
            error = DecodeError.StringOutOfBounds;
            return false;
        }

        value = rest.Slice(at + RecordLayout.StringPrefixSize, (int)length);
        at += RecordLayout.StringPrefixSize + (int)length;
        error = DecodeError.None;
        return true;
    }
}
