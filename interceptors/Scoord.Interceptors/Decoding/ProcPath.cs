namespace Scoord.Interceptors.Decoding;

/// <summary>Builds NUL-terminated /proc paths and reads links into caller buffers without allocating.</summary>
internal static unsafe class ProcPath
{
    /// <summary>Writes "/proc/{pid}/{tail}" followed by a NUL; returns the length without the NUL.</summary>
    public static int Format(Span<byte> dest, int pid, ReadOnlySpan<byte> tail)
    {
        int n = 0;
        "/proc/"u8.CopyTo(dest);
        n += 6;
        n += WriteInt(dest[n..], pid);
        dest[n++] = (byte)'/';
        tail.CopyTo(dest[n..]);
        n += tail.Length;
        dest[n] = 0;
        return n;
    }

    /// <summary>Writes "/proc/{pid}/fd/{fd}" followed by a NUL.</summary>
    public static int FormatFd(Span<byte> dest, int pid, int fd)
    {
        int n = Format(dest, pid, "fd/"u8);
        n += WriteInt(dest[n..], fd);
        dest[n] = 0;
        return n;
    }

    public static int WriteInt(Span<byte> dest, int value)
    {
        if (value < 0)
        {
            dest[0] = (byte)'-';
            return 1 + WriteInt(dest[1..], -value);
        }

        Span<byte> tmp = stackalloc byte[12];
        int i = tmp.Length;
        do
        {
            tmp[--i] = (byte)('0' + (value % 10));
            value /= 10;
        }
        while (value != 0);
        tmp[i..].CopyTo(dest);
        return tmp.Length - i;
    }

    /// <summary>readlink of a NUL-terminated path into dest; returns length or -1.</summary>
    public static int ReadLink(ReadOnlySpan<byte> nulTerminatedPath, Span<byte> dest)
    {
        fixed (byte* p = nulTerminatedPath)
        fixed (byte* d = dest)
        {
            nint n = Interop.Libc.readlink(p, d, (nuint)dest.Length);
            return n < 0 || n >= dest.Length ? -1 : (int)n;
        }
    }
}
