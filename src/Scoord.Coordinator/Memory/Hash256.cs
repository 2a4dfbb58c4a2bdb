using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Scoord.Coordinator.Memory;

/// <summary>A SHA-256 as a value (set and dictionary key without allocation per page).</summary>
internal readonly record struct Hash256(ulong A, ulong B, ulong C, ulong D)
{
    public static readonly Hash256 ZeroPage = Of(new byte[Journal.Memory.PageMapWindow.PageSize]);

    public static Hash256 Of(ReadOnlySpan<byte> content)
    {
        Span<byte> h = stackalloc byte[32];
        SHA256.HashData(content, h);
        return From(h);
    }

    public static Hash256 From(ReadOnlySpan<byte> h) => new(
        BinaryPrimitives.ReadUInt64BigEndian(h),
        BinaryPrimitives.ReadUInt64BigEndian(h[8..]),
        BinaryPrimitives.ReadUInt64BigEndian(h[16..]),
        BinaryPrimitives.ReadUInt64BigEndian(h[24..]));

    public void CopyTo(Span<byte> h)
    {
        BinaryPrimitives.WriteUInt64BigEndian(h, A);
        BinaryPrimitives.WriteUInt64BigEndian(h[8..], B);
        BinaryPrimitives.WriteUInt64BigEndian(h[16..], C);
        BinaryPrimitives.WriteUInt64BigEndian(h[24..], D);
    }

    public byte[] ToArray()
    {
        byte[] h = new byte[32];
        CopyTo(h);
        return h;
    }
}
