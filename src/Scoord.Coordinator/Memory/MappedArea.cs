using System.Globalization;

namespace Scoord.Coordinator.Memory;

/// <summary>One mapping of /proc/PID/smaps: range, permissions, file, and the VmFlags two-letter codes.</summary>
internal sealed class MappedArea
{
    public ulong Start;
    public ulong End;
    public bool Read;
    public bool Write;
    public bool Exec;
    public bool Shared;
    public ulong Offset;
    public ulong Dev;
    public ulong Ino;
    /// <summary>The path or pseudo-name ([heap], [stack], [vdso], /dev/zero (deleted), ...), bytes; empty for anonymous memory.</summary>
    public byte[] Path = [];
    public HashSet<string> VmFlags = new(StringComparer.Ordinal);

    public bool IsPseudo => Path.Length > 0 && Path[0] == (byte)'[';

    public string PathText => ProcFile.Text(Path);

    public bool Has(string flag) => VmFlags.Contains(flag);

    public ulong Length => End - Start;

    /// <summary>Parses /proc/PID/smaps (bytes: file names are not always UTF-8).</summary>
    public static List<MappedArea> ParseSmaps(byte[] smaps)
    {
        var areas = new List<MappedArea>();
        MappedArea? current = null;
        int at = 0;
        while (at < smaps.Length)
        {
            int nl = Array.IndexOf(smaps, (byte)'\n', at);
            if (nl < 0)
            {
                nl = smaps.Length;
            }

            ReadOnlySpan<byte> line = smaps.AsSpan(at, nl - at);
            at = nl + 1;
            if (line.Length == 0)
            {
                continue;
            }

            if (IsHeader(line))
            {
                current = ParseHeader(line);
                areas.Add(current);
            }
            else if (current is not null && line.StartsWith("VmFlags:"u8))
            {
                foreach (string f in ProcFile.Text(line["VmFlags:"u8.Length..]).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    current.VmFlags.Add(f);
                }
            }
        }

        return areas;
    }

    /// <summary>A mapping line starts with "start-end " in hex; a field line with "Name:".</summary>
    private static bool IsHeader(ReadOnlySpan<byte> line)
    {
        int dash = line.IndexOf((byte)'-');
        int colon = line.IndexOf((byte)':');
        return dash > 0 && (colon < 0 || dash < colon) && IsHex(line[..dash]);
    }

    private static bool IsHex(ReadOnlySpan<byte> s)
    {
        foreach (byte b in s)
        {
            if (!((b >= '0' && b <= '9') || (b >= 'a' && b <= 'f')))
            {
                return false;
            }
        }

        return s.Length > 0;
    }

    private static MappedArea ParseHeader(ReadOnlySpan<byte> line)
    {
        // start-end perms offset dev inode [path]
        var a = new MappedArea();
        int field = 0;
        int i = 0;
        while (field < 5 && i < line.Length)
        {
            int end = line[i..].IndexOf((byte)' ');
            end = end < 0 ? line.Length : i + end;
            ReadOnlySpan<byte> f = line[i..end];
            switch (field)
            {
                case 0:
                    int dash = f.IndexOf((byte)'-');
                    a.Start = ulong.Parse(ProcFile.Text(f[..dash]), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                    a.End = ulong.Parse(ProcFile.Text(f[(dash + 1)..]), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                    break;
                case 1:
                    a.Read = f[0] == 'r';
                    a.Write = f[1] == 'w';
                    a.Exec = f[2] == 'x';
                    a.Shared = f[3] == 's';
                    break;
                case 2:
                    a.Offset = ulong.Parse(ProcFile.Text(f), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                    break;
                case 3:
                    int colon = f.IndexOf((byte)':');
                    ulong major = ulong.Parse(ProcFile.Text(f[..colon]), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                    ulong minor = ulong.Parse(ProcFile.Text(f[(colon + 1)..]), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                    a.Dev = MakeDev(major, minor);
                    break;
                case 4:
                    a.Ino = ulong.Parse(ProcFile.Text(f), NumberStyles.Integer, CultureInfo.InvariantCulture);
                    break;
            }

            field++;
            i = end + 1;
        }

        while (i < line.Length && line[i] == ' ')
        {
            i++;
        }

        a.Path = i < line.Length ? line[i..].ToArray() : [];
        return a;
    }

    /// <summary>glibc's makedev: the st_dev encoding of (major, minor).</summary>
    public static ulong MakeDev(ulong major, ulong minor) =>
        ((major & 0xfffff000UL) << 32) | ((major & 0xfffUL) << 8) | ((minor & 0xffffff00UL) << 12) | (minor & 0xffUL);
}
