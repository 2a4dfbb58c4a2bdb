using System.Buffers.Binary;
using Scoord.Journal.Codec;

namespace Scoord.Journal.Memory;

/// <summary>
/// Reads the fields of a memory-image payload in order. The first field that runs past the payload sets
/// <see cref="Error"/> (PayloadTooShort, StringOutOfBounds) and every later read returns zero, so a decoder
/// reads straight through and checks once. A list count is refused (InvalidValue) when even its smallest
/// elements could not fit in what is left, so damaged counts never make huge allocations.
/// </summary>
internal ref struct ImageFieldReader(ReadOnlySpan<byte> payload)
{
    private readonly ReadOnlySpan<byte> _p = payload;
    private int _at;

    public DecodeError Error { get; private set; }

    public readonly bool Ok => Error == DecodeError.None;

    public readonly int Remaining => _p.Length - _at;

    public byte U8() => Take(1, out ReadOnlySpan<byte> s) ? s[0] : (byte)0;

    public uint U32() => Take(4, out ReadOnlySpan<byte> s) ? BinaryPrimitives.ReadUInt32LittleEndian(s) : 0;

    public int I32() => unchecked((int)U32());

    public ulong U64() => Take(8, out ReadOnlySpan<byte> s) ? BinaryPrimitives.ReadUInt64LittleEndian(s) : 0;

    public long I64() => unchecked((long)U64());

    public byte[] Bytes()
    {
        uint n = U32();
        if (!Ok)
        {
            return [];
        }

        if (n > (uint)Remaining)
        {
            Error = DecodeError.StringOutOfBounds;
            return [];
        }

        return Take((int)n, out ReadOnlySpan<byte> s) ? s.ToArray() : [];
    }

    public byte[] Raw(int n) => Take(n, out ReadOnlySpan<byte> s) ? s.ToArray() : [];

    public string Text()
    {
        byte[] b = Bytes();
        return System.Text.Encoding.UTF8.GetString(b);
    }

    /// <summary>A list count; <paramref name="minElementSize"/> bytes at least per element.</summary>
    public int Count(int minElementSize)
    {
        uint n = U32();
        if (Ok && (ulong)n * (ulong)Math.Max(1, minElementSize) > (ulong)Remaining)
        {
            Error = DecodeError.InvalidValue;
            return 0;
        }

        return (int)n;
    }

    public void Invalid(bool condition)
    {
        if (Ok && condition)
        {
            Error = DecodeError.InvalidValue;
        }
    }

    /// <summary>Every byte read: else TrailingBytes.</summary>
    public bool End()
    {
        if (Ok && _at != _p.Length)
        {
            Error = DecodeError.TrailingBytes;
        }

        return Ok;
    }

    private bool Take(int n, out ReadOnlySpan<byte> s)
    {
        if (!Ok || n > Remaining)
        {
            if (Ok)
            {
                Error = DecodeError.PayloadTooShort;
            }

            s = default;
            return false;
        }

        s = _p.Slice(_at, n);
        _at += n;
        return true;
    }
}
