using System.Buffers.Binary;
using Scoord.Journal.Codec;

namespace Scoord.Journal.Memory;

/// <summary>
/// Builds one memory-image record: the 8-byte header is reserved first, fields are appended little-endian
/// (byte strings as u32 length + bytes, lists as u32 count + elements), and <see cref="Seal"/> writes
/// the header and the CRC32C trailer as every journal record has them.
/// </summary>
internal sealed class ImageFieldWriter
{
    private byte[] _buffer = new byte[4096];
    private int _length = RecordLayout.HeaderSize;

    public void U8(byte v)
    {
        Ensure(1);
        _buffer[_length++] = v;
    }

    public void U32(uint v)
    {
        Ensure(4);
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(_length), v);
        _length += 4;
    }

    public void I32(int v) => U32(unchecked((uint)v));

    public void U64(ulong v)
    {
        Ensure(8);
        BinaryPrimitives.WriteUInt64LittleEndian(_buffer.AsSpan(_length), v);
        _length += 8;
    }

    public void I64(long v) => U64(unchecked((ulong)v));

    public void Bytes(ReadOnlySpan<byte> v)
    {
        U32((uint)v.Length);
        Raw(v);
    }

    public void Raw(ReadOnlySpan<byte> v)
    {
        Ensure(v.Length);
        v.CopyTo(_buffer.AsSpan(_length));
        _length += v.Length;
    }

    public void Text(string v) => Bytes(System.Text.Encoding.UTF8.GetBytes(v));

    public void Count(int n) => U32(checked((uint)n));

    /// <summary>Writes the header and the checksum; returns the record.</summary>
    public byte[] Seal(RecordType type)
    {
        Ensure(RecordLayout.ChecksumSize);
        int size = RecordCodec.Seal(_buffer, type, _length - RecordLayout.HeaderSize);
        return _buffer.AsSpan(0, size).ToArray();
    }

    private void Ensure(int more)
    {
        if (_length + more > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + more + 1024));
        }
    }
}
