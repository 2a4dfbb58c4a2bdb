using Scoord.Interceptors;
using Scoord.Interceptors.Decoding;

namespace Scoord.Coordinator.Tracing;

/// <summary>Reads small /proc files into caller buffers (no allocation).</summary>
internal static unsafe class ProcStatus
{
    /// <summary>Reads /proc/{pid}/{name} into io; returns the byte count or -1.</summary>
    public static int ReadFile(int pid, ReadOnlySpan<byte> name, Span<byte> procBuf, Span<byte> io)
    {
        ProcPath.Format(procBuf, pid, name);
        int fd;
        fixed (byte* p = procBuf)
        {
            fd = Interop.Libc.open(p, Interop.Libc.O_RDONLY | Interop.Libc.O_CLOEXEC, 0);
        }

        if (fd < 0)
        {
            return -1;
        }

        int total = 0;
        fixed (byte* d = io)
        {
            while (total < io.Length)
            {
                nint n = Interop.Libc.read(fd, d + total, (nuint)(io.Length - total));
                if (n <= 0)
                {
                    break;
                }

                total += (int)n;
            }
        }

        Interop.Libc.close(fd);
        return total;
    }

    public static int ReadTgid(int tid, Span<byte> procBuf, Span<byte> io) => ReadField(tid, "Tgid:"u8, procBuf, io);

    public static int ReadPpid(int tid, Span<byte> procBuf, Span<byte> io) => ReadField(tid, "PPid:"u8, procBuf, io);

    private static int ReadField(int tid, ReadOnlySpan<byte> key, Span<byte> procBuf, Span<byte> io)
    {
        int n = ReadFile(tid, "status"u8, procBuf, io);
        if (n <= 0)
        {
            return -1;
        }

        ReadOnlySpan<byte> text = io[..n];
        int at = text.IndexOf(key);
        if (at < 0)
        {
            return -1;
        }

        int i = at + key.Length;
        while (i < n && (text[i] == (byte)' ' || text[i] == (byte)'\t'))
        {
            i++;
        }

        int value = 0;
        while (i < n && text[i] >= (byte)'0' && text[i] <= (byte)'9')
        {
            value = (value * 10) + (text[i] - (byte)'0');
            i++;
        }

        return value;
    }
}
