using System.Buffers.Binary;

namespace Scoord.Journal.Memory;

/// <summary>
/// Keys of the "memory" column family (docs/journal-format.md, "Memory images"). Big-endian, so that an
/// image's records sort together: prefix byte, checkpoint id, owner, window.
/// </summary>
public static class ImageKeys
{
    public const byte ImagePrefix = 0x01;
    public const byte ProcessPrefix = 0x02;
    public const byte PageMapPrefix = 0x03;
    public const byte PagePrefix = 0x04;

    public const int ImageKeySize = 5;
    public const int ProcessKeySize = 9;
    public const int PageMapKeySize = 17;
    public const int PageKeySize = 1 + PageMapWindow.HashSize;

    /// <summary>The owner under which a shared memory object's pages are stored (pids are below 2^30).</summary>
    public static int SharedOwner(int sharedId) => unchecked((int)(0x80000000u | (uint)sharedId));

    public static byte[] Image(int checkpoint)
    {
        byte[] k = new byte[ImageKeySize];
        k[0] = ImagePrefix;
        BinaryPrimitives.WriteUInt32BigEndian(k.AsSpan(1), (uint)checkpoint);
        return k;
    }

    public static byte[] Process(int checkpoint, int pid)
    {
        byte[] k = new byte[ProcessKeySize];
        k[0] = ProcessPrefix;
        BinaryPrimitives.WriteUInt32BigEndian(k.AsSpan(1), (uint)checkpoint);
        BinaryPrimitives.WriteUInt32BigEndian(k.AsSpan(5), unchecked((uint)pid));
        return k;
    }

    public static byte[] PageMap(int checkpoint, int owner, ulong window)
    {
        byte[] k = new byte[PageMapKeySize];
        k[0] = PageMapPrefix;
        BinaryPrimitives.WriteUInt32BigEndian(k.AsSpan(1), (uint)checkpoint);
        BinaryPrimitives.WriteUInt32BigEndian(k.AsSpan(5), unchecked((uint)owner));
        BinaryPrimitives.WriteUInt64BigEndian(k.AsSpan(9), window);
        return k;
    }

    public static void Page(Span<byte> key, ReadOnlySpan<byte> hash)
    {
        key[0] = PagePrefix;
        hash.CopyTo(key[1..]);
    }

    public static byte[] Page(ReadOnlySpan<byte> hash)
    {
        byte[] k = new byte[PageKeySize];
        Page(k, hash);
        return k;
    }
}
