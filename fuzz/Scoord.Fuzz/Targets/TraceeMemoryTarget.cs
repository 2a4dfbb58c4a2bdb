using System.Buffers.Binary;
using Scoord.Interceptors.Decoding;

namespace Scoord.Fuzz.Targets;

/// <summary>
/// Fuzz target for what the tracer reads from a tracee's memory: NUL-terminated path strings (with and
/// without a NUL within PATH_MAX, across unmapped pages), iovec arrays (any count, any lengths), struct
/// open_how and struct sockaddr_un. The input is a little address space:
/// <code>
/// u8 hole page (0xFF: none) · u8 misalignment · i64 iovcnt · u16 iovec offset · bytes mapped at Base+misalignment
/// </code>
/// Each decoder runs against a byte-exact model of that memory (reads stop at the first unreadable
/// byte, as process_vm_readv does at the first unreadable page). Invariants: nothing throws, and every
/// answer equals the model's.
/// </summary>
public static class TraceeMemoryTarget
{
    private const ulong Base = 0x7f12_3456_0000;
    private const int PathMax = 4096;

    public static void Fuzz(ReadOnlySpan<byte> input)
    {
        if (input.Length < 12)
        {
            return;
        }

        int hole = input[0] == 0xFF ? -1 : input[0] % 8;
        ulong start = Base + input[1];
        long iovcnt = BinaryPrimitives.ReadInt64LittleEndian(input[2..]);
        int iovOffset = BinaryPrimitives.ReadUInt16LittleEndian(input[10..]);
        var memory = new FakeMemory(input[12..].ToArray(), start, hole);

        Span<byte> path = stackalloc byte[PathMax];
        Span<byte> small = stackalloc byte[16];
        ulong end = start + (ulong)memory.Length;
        ulong[] addresses =
        [
            0, 1, 4095, start, start + 1, start + ((ulong)memory.Length / 2), end - 1, end, end + 4096, Base - 1,
            Base + 4096 - 1, 0xffff_ffff_ff60_0000 /* vsyscall page */, 0xffff_8000_0000_0000 /* kernel */, ulong.MaxValue - 2, ulong.MaxValue,
        ];
        foreach (ulong at in addresses)
        {
            CheckCString(memory, at, path);
            CheckCString(memory, at, small);
        }

        // writev/pwritev: the count as given (negative, zero, over IOV_MAX, 2^31...) and a few near IOV_MAX.
        foreach (long count in new[] { iovcnt, iovcnt & 0x7FF, 1, TraceeMemory.IovMax, TraceeMemory.IovMax + 1, 1L << 31, -1 })
        {
            foreach (ulong at in new[] { start + (ulong)iovOffset, start, 0UL, end - 8, ulong.MaxValue - 15 })
            {
                long got = TraceeMemory.IovecTotal(memory, at, count);
                long want = memory.ModelIovecTotal(at, count);
                if (got != want)
                {
                    throw new InvalidOperationException($"IovecTotal(0x{at:x}, {count}) = {got}, model says {want}");
                }
            }
        }

        ReadOnlySpan<byte> raw = input[12..];
        if (TraceeMemory.TryParseOpenHow(raw, out ulong flags, out ulong mode)
            && (raw.Length < 16 || flags != BinaryPrimitives.ReadUInt64LittleEndian(raw) || mode != BinaryPrimitives.ReadUInt64LittleEndian(raw[8..])))
        {
            throw new InvalidOperationException("open_how decoded wrongly");
        }

        int offset = TraceeMemory.SockaddrUnPathOffset(raw[..Math.Min(raw.Length, 110)]);
        if (offset >= 0 && (raw.Length < 3 || raw[0] != 1 || raw[1] != 0 || raw[2] == 0))
        {
            throw new InvalidOperationException("a sockaddr that is not a named AF_UNIX address was taken for a path");
        }
    }

    private static void CheckCString(FakeMemory memory, ulong at, Span<byte> dest)
    {
        dest.Fill(0xAA);
        int got = TraceeMemory.ReadCString(memory, at, dest);
        int want = memory.ModelCString(at, dest.Length);
        if (got != want)
        {
            throw new InvalidOperationException($"ReadCString(0x{at:x}, {dest.Length}) = {got}, model says {want}");
        }

        if (got >= 0)
        {
            for (int i = 0; i < got; i++)
            {
                if (dest[i] != memory.ByteAt(at + (ulong)i))
                {
                    throw new InvalidOperationException("ReadCString returned other bytes than the memory holds");
                }
            }
        }
    }

    /// <summary>Bytes mapped at an address, with one unmapped page (the hole) among them.</summary>
    private readonly struct FakeMemory(byte[] bytes, ulong start, int holePage) : IRemoteMemory
    {
        public int Length => bytes.Length;

        public bool Readable(ulong address)
            => address >= start && address - start < (ulong)bytes.Length
               && (holePage < 0 || (long)((address / 4096) - (start / 4096)) != holePage);

        public byte ByteAt(ulong address) => bytes[(int)(address - start)];

        public nint Read(ulong address, Span<byte> dest)
        {
            int n = 0;
            while (n < dest.Length && address + (ulong)n >= address && Readable(address + (ulong)n))
            {
                dest[n] = ByteAt(address + (ulong)n);
                n++;
            }

            return n == 0 ? -1 : n;
        }

        public int ModelCString(ulong at, int max)
        {
            if (at == 0)
            {
                return -1;
            }

            for (int i = 0; i < max; i++)
            {
                ulong a = at + (ulong)i;
                if (a < at || !Readable(a))
                {
                    return -1;
                }

                if (ByteAt(a) == 0)
                {
                    return i;
                }
            }

            return -1;
        }

        public long ModelIovecTotal(ulong at, long count)
        {
            if (count <= 0 || count > TraceeMemory.IovMax)
            {
                return -1;
            }

            decimal total = 0;
            for (long i = 0; i < count; i++)
            {
                ulong len = 0;
                for (int b = 0; b < 16; b++)
                {
                    ulong a = at + (ulong)((i * 16) + b);
                    if (a < at || !Readable(a))
                    {
                        return -1;
                    }

                    if (b >= 8)
                    {
                        len |= (ulong)ByteAt(a) << (8 * (b - 8));
                    }
                }

                total += len;
            }

            return total > long.MaxValue ? -1 : (long)total;
        }
    }
}
