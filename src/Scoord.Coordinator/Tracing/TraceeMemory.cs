using Scoord.Interceptors;

namespace Scoord.Coordinator.Tracing;

/// <summary>Reads and writes a stopped tracee's memory with process_vm_readv/writev (no per-call allocation).</summary>
internal static unsafe class TraceeMemory
{
    private const int PageSize = 4096;

    /// <summary>
    /// Reads a NUL-terminated string at <paramref name="address"/> into <paramref name="dest"/> (without the NUL).
    /// Reads page by page so that a string ending just before an unmapped page is still read.
    /// Returns the length, or -1 when the pointer is bad or no NUL comes within dest.Length bytes.
    /// </summary>
    public static int ReadCString(int tid, ulong address, Span<byte> dest)
    {
        if (address == 0)
        {
            return -1;
        }

        int total = 0;
        fixed (byte* d = dest)
        {
            while (total < dest.Length)
            {
                ulong at = address + (ulong)total;
                int chunk = PageSize - (int)(at % PageSize);
                chunk = Math.Min(chunk, dest.Length - total);
                Interop.IoVec local = new() { iov_base = d + total, iov_len = (nuint)chunk };
                Interop.IoVec remote = new() { iov_base = (void*)at, iov_len = (nuint)chunk };
                nint n = Interop.Libc.process_vm_readv(tid, &local, 1, &remote, 1, 0);
                if (n <= 0)
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
        }

        return -1;
    }

    /// <summary>Reads exactly dest.Length bytes; false if any part is unreadable.</summary>
    public static bool Read(int tid, ulong address, Span<byte> dest)
    {
        fixed (byte* d = dest)
        {
            Interop.IoVec local = new() { iov_base = d, iov_len = (nuint)dest.Length };
            Interop.IoVec remote = new() { iov_base = (void*)address, iov_len = (nuint)dest.Length };
            return Interop.Libc.process_vm_readv(tid, &local, 1, &remote, 1, 0) == dest.Length;
        }
    }

    public static bool Write(int tid, ulong address, ReadOnlySpan<byte> src)
    {
        fixed (byte* s = src)
        {
            Interop.IoVec local = new() { iov_base = s, iov_len = (nuint)src.Length };
            Interop.IoVec remote = new() { iov_base = (void*)address, iov_len = (nuint)src.Length };
            return Interop.Libc.process_vm_writev(tid, &local, 1, &remote, 1, 0) == src.Length;
        }
    }
}
