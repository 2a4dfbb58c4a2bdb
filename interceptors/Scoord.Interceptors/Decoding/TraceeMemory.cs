using System.Buffers.Binary;

namespace Scoord.Interceptors.Decoding;

/// <summary>
/// Reads and decodes what a tracee passes by pointer (path strings, iovec arrays, structs). Every byte
/// and every pointer comes from the traced program and may be anything: nothing here may throw, and a
/// bad pointer or a string without its NUL is an answer (-1 / false), not an error.
/// </summary>
internal static unsafe class TraceeMemory
{
    private const int PageSize = 4096;

    /// <summary>The kernel's UIO_MAXIOV (IOV_MAX): writev and friends fail with EINVAL above it.</summary>
    public const long IovMax = 1024;

    /// <summary>sizeof(struct iovec) on x86_64.</summary>
    public const int IovecSize = 16;

    /// <summary>
    /// Reads a NUL-terminated string at <paramref name="address"/> into <paramref name="dest"/> (without the NUL).
    /// Reads page by page so that a string ending just before an unmapped page is still read.
    /// Returns the length, or -1 when the pointer is bad or no NUL comes within dest.Length bytes.
    /// </summary>
    public static int ReadCString(int tid, ulong address, Span<byte> dest) => ReadCString(new ProcessVmMemory(tid), address, dest);

    /// <inheritdoc cref="ReadCString(int, ulong, Span{byte})"/>
    public static int ReadCString<TMemory>(TMemory memory, ulong address, Span<byte> dest)
        where TMemory : struct, IRemoteMemory
    {
        if (address == 0)
        {
            return -1;
        }

        int total = 0;
        while (total < dest.Length)
        {
            ulong at = unchecked(address + (ulong)total);
            if (at < address)
            {
                return -1; // wrapped past the top of the address space
            }

            int chunk = PageSize - (int)(at % PageSize);
            chunk = Math.Min(chunk, dest.Length - total);
            nint n = memory.Read(at, dest.Slice(total, chunk));
            if (n <= 0 || n > chunk)
            {
                return -1;
            }

            int nul = dest.Slice(total, (int)n).IndexOf((byte)0);
            if (nul >= 0)
            {
                return total + nul;
            }

            total += (int)n;
        }

        return -1;
    }

    /// <summary>Reads exactly dest.Length bytes; false if any part is unreadable.</summary>
    public static bool Read(int tid, ulong address, Span<byte> dest) => Read(new ProcessVmMemory(tid), address, dest);

    /// <inheritdoc cref="Read(int, ulong, Span{byte})"/>
    public static bool Read<TMemory>(TMemory memory, ulong address, Span<byte> dest)
        where TMemory : struct, IRemoteMemory
        => memory.Read(address, dest) == dest.Length;

    /// <summary>
    /// The total length of an iovec array (writev, pwritev, pwritev2), or -1 when the kernel will refuse
    /// the call before writing anything: a count outside 1..IOV_MAX (EINVAL), an unreadable array
    /// (EFAULT), or lengths whose sum overflows ssize_t (EINVAL).
    /// </summary>
    public static long IovecTotal<TMemory>(TMemory memory, ulong iov, long count)
        where TMemory : struct, IRemoteMemory
    {
        if (count <= 0 || count > IovMax)
        {
            return -1;
        }

        Span<byte> buf = stackalloc byte[IovecSize * 64];
        long total = 0;
        for (long done = 0; done < count;)
        {
            int chunk = (int)Math.Min(64, count - done);
            ulong at = unchecked(iov + (ulong)(done * IovecSize));
            if (at < iov || !Read(memory, at, buf[..(chunk * IovecSize)]))
            {
                return -1;
            }

            long sum = SumIovecLengths(buf[..(chunk * IovecSize)]);
            if (sum < 0 || total > long.MaxValue - sum)
            {
                return -1;
            }

            total += sum;
            done += chunk;
        }

        return total;
    }

    /// <summary>The sum of the iov_len fields of whole iovecs in <paramref name="iovecs"/>; -1 if it exceeds ssize_t.</summary>
    public static long SumIovecLengths(ReadOnlySpan<byte> iovecs)
    {
        long total = 0;
        for (int at = 0; at + IovecSize <= iovecs.Length; at += IovecSize)
        {
            ulong len = BinaryPrimitives.ReadUInt64LittleEndian(iovecs[(at + 8)..]);
            if (len > (ulong)(long.MaxValue - total))
            {
                return -1;
            }

            total += (long)len;
        }

        return total;
    }

    /// <summary>struct open_how (openat2): flags and mode, or false when fewer than their 16 bytes are given.</summary>
    public static bool TryParseOpenHow(ReadOnlySpan<byte> how, out ulong flags, out ulong mode)
    {
        if (how.Length < 16)
        {
            flags = 0;
            mode = 0;
            return false;
        }

        flags = BinaryPrimitives.ReadUInt64LittleEndian(how);
        mode = BinaryPrimitives.ReadUInt64LittleEndian(how[8..]);
        return true;
    }

    /// <summary>
    /// The offset of the path in a struct sockaddr_un given to bind(2), or -1 when it names no file:
    /// not AF_UNIX, too short, or an abstract address (sun_path starting with NUL).
    /// </summary>
    public static int SockaddrUnPathOffset(ReadOnlySpan<byte> sockaddr)
    {
        const ushort AfUnix = 1;
        if (sockaddr.Length < 3 || BinaryPrimitives.ReadUInt16LittleEndian(sockaddr) != AfUnix || sockaddr[2] == 0)
        {
            return -1;
        }

        return 2;
    }
}
