using System.Globalization;
using System.Text;
using Scoord.Interceptors;

namespace Scoord.Coordinator.Memory;

/// <summary>
/// /proc reads for the memory dump: whole files as bytes (names may not be UTF-8), symlink targets, and
/// a few fields of status and stat. Inside the barrier every process is stopped, so what is read holds.
/// </summary>
internal static unsafe class ProcFile
{
    /// <summary>The whole file, or null when it cannot be read (the process is gone).</summary>
    public static byte[]? Read(string path)
    {
        byte[] p = Encoding.UTF8.GetBytes(path + "\0");
        int fd;
        fixed (byte* pp = p)
        {
            fd = Interop.Libc.open(pp, Interop.Libc.O_RDONLY | Interop.Libc.O_CLOEXEC, 0);
        }

        if (fd < 0)
        {
            return null;
        }

        try
        {
            byte[] buffer = new byte[16384];
            int length = 0;
            while (true)
            {
                if (length == buffer.Length)
                {
                    Array.Resize(ref buffer, buffer.Length * 2);
                }

                nint n;
                fixed (byte* b = buffer)
                {
                    n = Interop.Libc.read(fd, b + length, (nuint)(buffer.Length - length));
                }

                if (n < 0)
                {
                    if (Interop.LastErrno == Errno.EINTR)
                    {
                        continue;
                    }

                    return null;
                }

                if (n == 0)
                {
                    return buffer.AsSpan(0, length).ToArray();
                }

                length += (int)n;
            }
        }
        finally
        {
            Interop.Libc.close(fd);
        }
    }

    public static string? ReadText(string path) => Read(path) is { } b ? Encoding.UTF8.GetString(b) : null;

    /// <summary>readlink(2) as bytes, or null.</summary>
    public static byte[]? ReadLink(string path)
    {
        byte[] p = Encoding.UTF8.GetBytes(path + "\0");
        byte[] buffer = new byte[4096 + 64];
        fixed (byte* pp = p)
        fixed (byte* b = buffer)
        {
            nint n = Interop.Libc.readlink(pp, b, (nuint)buffer.Length);
            return n < 0 ? null : buffer.AsSpan(0, (int)n).ToArray();
        }
    }

    /// <summary>A "Key:\tvalue" line of /proc/PID/status, trimmed; null when absent.</summary>
    public static string? StatusField(string status, string key)
    {
        foreach (string line in status.Split('\n'))
        {
            if (line.StartsWith(key, StringComparison.Ordinal) && line.Length > key.Length && line[key.Length] == ':')
            {
                return line[(key.Length + 1)..].Trim();
            }
        }

        return null;
    }

    public static ulong StatusHex(string status, string key) =>
        StatusField(status, key) is { } v ? ulong.Parse(v, NumberStyles.HexNumber, CultureInfo.InvariantCulture) : 0;

    /// <summary>The fields of /proc/PID/stat after the command name, numbered as in proc(5) (field 3 is the state).</summary>
    public static string[]? StatFields(string path)
    {
        string? stat = ReadText(path);
        if (stat is null)
        {
            return null;
        }

        int close = stat.LastIndexOf(')');
        if (close < 0)
        {
            return null;
        }

        string[] rest = stat[(close + 2)..].Trim().Split(' ');
        var fields = new string[rest.Length + 3];
        fields[1] = stat[..stat.IndexOf(' ', StringComparison.Ordinal)];
        fields[2] = stat[(stat.IndexOf('(', StringComparison.Ordinal) + 1)..close];
        Array.Copy(rest, 0, fields, 3, rest.Length);
        return fields;
    }

    public static long Long(string s) => long.Parse(s, NumberStyles.Integer, CultureInfo.InvariantCulture);

    public static ulong ULong(string s) => ulong.Parse(s, NumberStyles.Integer, CultureInfo.InvariantCulture);

    /// <summary>stat(2) of a path (following symlinks, as /proc/PID/fd/N and map_files are followed).</summary>
    public static bool Stat(string path, out Interop.Stat st)
    {
        byte[] p = Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* pp = p)
        fixed (Interop.Stat* s = &st)
        {
            return Interop.Libc.fstatat(Interop.Libc.AT_FDCWD, pp, s, 0) == 0;
        }
    }

    public static bool Stat(byte[] path, out Interop.Stat st)
    {
        byte[] p = new byte[path.Length + 1];
        path.CopyTo(p, 0);
        fixed (byte* pp = p)
        fixed (Interop.Stat* s = &st)
        {
            return Interop.Libc.fstatat(Interop.Libc.AT_FDCWD, pp, s, 0) == 0;
        }
    }

    public static string Text(ReadOnlySpan<byte> b) => Encoding.UTF8.GetString(b);
}
