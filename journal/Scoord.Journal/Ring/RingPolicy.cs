using System.Buffers.Binary;

namespace Scoord.Journal.Ring;

/// <summary>
/// The policy region of the ring (what the hooks journal, pass or hand to the tracer): the journal's
/// canonical path; identity lists (protected journal objects, the journal's ancestors, objects left out
/// of the journal); the --only and --exclude paths. Layout, little-endian, every field 8-aligned:
/// u64 length + journal path; three times u64 count + (u64 dev, u64 ino) pairs; twice u64 count +
/// (u64 length + path). The coordinator writes it once, before the program starts.
/// </summary>
public static class RingPolicy
{
    public const int MaxPaths = 64;

    public static byte[] Encode(
        ReadOnlySpan<byte> journalPath,
        IReadOnlyCollection<(ulong Dev, ulong Ino)> protectedIds,
        IReadOnlyCollection<(ulong Dev, ulong Ino)> ancestors,
        IReadOnlyCollection<(ulong Dev, ulong Ino)> unjournaled,
        IReadOnlyList<byte[]> only,
        IReadOnlyList<byte[]> exclude)
    {
        if (only.Count > MaxPaths || exclude.Count > MaxPaths)
        {
            throw new ScoordException($"the fast path takes at most {MaxPaths} --only and {MaxPaths} --exclude paths (use --no-fastpath)");
        }

        var buffer = new List<byte>(4096);
        Bytes(buffer, journalPath);
        Ids(buffer, protectedIds);
        Ids(buffer, ancestors);
        Ids(buffer, unjournaled);
        Paths(buffer, only);
        Paths(buffer, exclude);
        return [.. buffer];
    }

    private static void U64(List<byte> b, ulong v)
    {
        Span<byte> x = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(x, v);
        foreach (byte c in x)
        {
            b.Add(c);
        }
    }

    private static void Bytes(List<byte> b, ReadOnlySpan<byte> s)
    {
        U64(b, (ulong)s.Length);
        foreach (byte c in s)
        {
            b.Add(c);
        }

        while ((b.Count & 7) != 0)
        {
            b.Add(0);
        }
    }

    private static void Ids(List<byte> b, IReadOnlyCollection<(ulong Dev, ulong Ino)> ids)
    {
        U64(b, (ulong)ids.Count);
        foreach ((ulong dev, ulong ino) in ids)
        {
            U64(b, dev);
            U64(b, ino);
        }
    }

    private static void Paths(List<byte> b, IReadOnlyList<byte[]> paths)
    {
        U64(b, (ulong)paths.Count);
        foreach (byte[] p in paths)
        {
            Bytes(b, p);
        }
    }
}
