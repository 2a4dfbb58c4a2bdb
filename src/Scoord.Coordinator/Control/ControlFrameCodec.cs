using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Scoord.Coordinator.Control;

/// <summary>
/// The control protocol's framing: <c>u32 length (LE)</c>, then <c>length</c> bytes = <c>u8 type</c> +
/// payload; 1 ≤ length ≤ <see cref="MaxFrameLength"/>. A string is <c>u32 length (LE)</c> + UTF-8 bytes.
/// Every payload must be exactly as long as its fields. The parser never throws, whatever the bytes.
/// </summary>
public static class ControlFrameCodec
{
    /// <summary>Largest value of the length field (type byte + payload): 1 MiB (a Join carries argv and environment).</summary>
    public const int MaxFrameLength = 1024 * 1024;

    public const int LengthSize = 4;

    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Parses one frame from the start of <paramref name="buffer"/>. true: a frame was parsed and
    /// <paramref name="buffer"/> now starts after it. false with <paramref name="error"/> null: more bytes
    /// are needed (buffer unchanged). false with an error: the bytes are not a valid frame; the
    /// connection should be answered with that error and closed.
    /// </summary>
    public static bool TryParse(ref ReadOnlySequence<byte> buffer, out ControlFrame frame, out string? error)
    {
        frame = default;
        error = null;
        if (buffer.Length < LengthSize)
        {
            return false;
        }

        Span<byte> prefix = stackalloc byte[LengthSize];
        buffer.Slice(0, LengthSize).CopyTo(prefix);
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(prefix);
        if (length == 0)
        {
            error = "empty frame";
            return false;
        }

        if (length > MaxFrameLength)
        {
            error = $"frame of {length} bytes exceeds the limit of {MaxFrameLength}";
            return false;
        }

        if (buffer.Length - LengthSize < length)
        {
            return false;
        }

        ReadOnlySequence<byte> body = buffer.Slice(LengthSize, length);
        byte[] rented = ArrayPool<byte>.Shared.Rent((int)length);
        try
        {
            Span<byte> bytes = rented.AsSpan(0, (int)length);
            body.CopyTo(bytes);
            if (!TryParseBody(bytes, out frame, out error))
            {
                return false;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }

        buffer = buffer.Slice(body.End);
        return true;
    }

    /// <summary>Parses type + payload (a frame without its length prefix).</summary>
    public static bool TryParseBody(ReadOnlySpan<byte> body, out ControlFrame frame, out string? error)
    {
        frame = default;
        error = null;
        if (body.IsEmpty)
        {
            error = "empty frame";
            return false;
        }

        ReadOnlySpan<byte> p = body[1..];
        switch ((ControlFrameType)body[0])
        {
            case ControlFrameType.Ping:
            case ControlFrameType.Pong:
            case ControlFrameType.Status:
            case ControlFrameType.SendStdio:
                if (!p.IsEmpty)
                {
                    error = "unexpected payload";
                    return false;
                }

                frame = new ControlFrame((ControlFrameType)body[0]);
                return true;
            case ControlFrameType.Checkpoint:
            case ControlFrameType.Error:
            case ControlFrameType.Join:
            case ControlFrameType.StatusReport:
            {
                int at = 0;
                if (!TryReadString(p, ref at, out string? text, out error) || !AtEnd(p, at, out error))
                {
                    return false;
                }

                frame = new ControlFrame((ControlFrameType)body[0], Text: text);
                return true;
            }

            case ControlFrameType.CheckpointTaken:
            {
                if (p.Length < 12)
                {
                    error = "payload too short";
                    return false;
                }

                uint id = BinaryPrimitives.ReadUInt32LittleEndian(p);
                ulong seq = BinaryPrimitives.ReadUInt64LittleEndian(p[4..]);
                int at = 12;
                if (!TryReadString(p, ref at, out string? name, out error) || !AtEnd(p, at, out error))
                {
                    return false;
                }

                frame = ControlFrame.Taken(id, seq, name!);
                return true;
            }

            case ControlFrameType.Joined:
            case ControlFrameType.Exited:
                if (p.Length != 12)
                {
                    error = p.Length < 12 ? "payload too short" : "trailing bytes after the payload";
                    return false;
                }

                frame = new ControlFrame((ControlFrameType)body[0], BinaryPrimitives.ReadUInt32LittleEndian(p), BinaryPrimitives.ReadUInt64LittleEndian(p[4..]));
                return true;

            default:
                error = $"unknown frame type {body[0]}";
                return false;
        }
    }

    /// <summary>Size of the encoded frame, length prefix included.</summary>
    public static int EncodedSize(in ControlFrame frame) => LengthSize + 1 + PayloadSize(frame);

    /// <summary>Encodes <paramref name="frame"/>; throws <see cref="ArgumentException"/> if it would exceed the limit.</summary>
    public static byte[] Encode(in ControlFrame frame)
    {
        int payload = PayloadSize(frame);
        if (1 + payload > MaxFrameLength)
        {
            throw new ArgumentException($"control frame of {1 + payload} bytes exceeds the limit of {MaxFrameLength}", nameof(frame));
        }

        byte[] bytes = new byte[LengthSize + 1 + payload];
        Span<byte> s = bytes;
        BinaryPrimitives.WriteUInt32LittleEndian(s, (uint)(1 + payload));
        s[LengthSize] = (byte)frame.Type;
        Span<byte> p = s[(LengthSize + 1)..];
        switch (frame.Type)
        {
            case ControlFrameType.Checkpoint:
            case ControlFrameType.Error:
            case ControlFrameType.Join:
            case ControlFrameType.StatusReport:
                WriteString(p, frame.Text);
                break;
            case ControlFrameType.Joined:
            case ControlFrameType.Exited:
                BinaryPrimitives.WriteUInt32LittleEndian(p, frame.Id);
                BinaryPrimitives.WriteUInt64LittleEndian(p[4..], frame.Seq);
                break;
            case ControlFrameType.CheckpointTaken:
                BinaryPrimitives.WriteUInt32LittleEndian(p, frame.Id);
                BinaryPrimitives.WriteUInt64LittleEndian(p[4..], frame.Seq);
                WriteString(p[12..], frame.Text);
                break;
            case ControlFrameType.Ping:
            case ControlFrameType.Pong:
            case ControlFrameType.Status:
            case ControlFrameType.SendStdio:
                break;
            default:
                throw new ArgumentException($"unknown frame type {(byte)frame.Type}", nameof(frame));
        }

        return bytes;
    }

    private static int PayloadSize(in ControlFrame frame) => frame.Type switch
    {
        ControlFrameType.Checkpoint or ControlFrameType.Error or ControlFrameType.Join or ControlFrameType.StatusReport => 4 + Utf8Length(frame.Text),
        ControlFrameType.Joined or ControlFrameType.Exited => 12,
        ControlFrameType.CheckpointTaken => 12 + 4 + Utf8Length(frame.Text),
        _ => 0,
    };

    private static int Utf8Length(string? text) => text is null ? 0 : Encoding.UTF8.GetByteCount(text);

    private static void WriteString(Span<byte> p, string? text)
    {
        int n = Encoding.UTF8.GetBytes(text ?? string.Empty, p[4..]);
        BinaryPrimitives.WriteUInt32LittleEndian(p, (uint)n);
    }

    private static bool TryReadString(ReadOnlySpan<byte> p, ref int at, out string? text, out string? error)
    {
        text = null;
        if (p.Length - at < 4)
        {
            error = "payload too short";
            return false;
        }

        ulong n = BinaryPrimitives.ReadUInt32LittleEndian(p[at..]);
        if (n > (ulong)(p.Length - at - 4))
        {
            error = "string length out of bounds";
            return false;
        }

        ReadOnlySpan<byte> bytes = p.Slice(at + 4, (int)n);
        if (!System.Text.Unicode.Utf8.IsValid(bytes))
        {
            error = "string is not valid UTF-8";
            return false;
        }

        text = s_strictUtf8.GetString(bytes);
        at += 4 + (int)n;
        error = null;
        return true;
    }

    private static bool AtEnd(ReadOnlySpan<byte> p, int at, out string? error)
    {
        error = at == p.Length ? null : "trailing bytes after the payload";
        return error is null;
    }
}
