using System.Globalization;
using System.Net;

namespace Scoord.Coordinator.Memory;

/// <summary>
/// Names a socket for the one-line refusal: finds its inode in /proc/PID/net/{tcp,tcp6,udp,udp6,unix} and
/// says what it is ("a TCP socket 127.0.0.1:40000 -> 127.0.0.1:8080", "a UNIX socket /run/x.sock").
/// </summary>
internal static class SocketDescription
{
    public static string Describe(int pid, ulong inode)
    {
        string ino = inode.ToString(CultureInfo.InvariantCulture);
        foreach ((string file, string proto) in new[] { ("tcp", "TCP"), ("tcp6", "TCP"), ("udp", "UDP"), ("udp6", "UDP") })
        {
            string? text = ProcFile.ReadText($"/proc/{pid}/net/{file}");
            if (text is null)
            {
                continue;
            }

            foreach (string line in text.Split('\n').Skip(1))
            {
                string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (f.Length > 9 && f[9] == ino)
                {
                    string local = Endpoint(f[1]);
                    string remote = Endpoint(f[2]);
                    bool listening = proto == "TCP" && f[3] == "0A";
                    return listening ? $"a {proto} socket listening on {local}"
                        : remote.EndsWith(":0", StringComparison.Ordinal) ? $"a {proto} socket on {local}"
                        : $"a {proto} socket {local} -> {remote}";
                }
            }
        }

        string? unix = ProcFile.ReadText($"/proc/{pid}/net/unix");
        if (unix is not null)
        {
            foreach (string line in unix.Split('\n').Skip(1))
            {
                string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (f.Length > 6 && f[6] == ino)
                {
                    return f.Length > 7 ? $"a UNIX socket {f[7]}" : "a UNIX socket (unnamed)";
                }
            }
        }

        return $"a socket (socket:[{ino}])";
    }

    private static string Endpoint(string hex)
    {
        int colon = hex.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            return hex;
        }

        int port = int.Parse(hex.AsSpan(colon + 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        string addr = hex[..colon];
        byte[] bytes = Convert.FromHexString(addr);
        // /proc/net prints each 32-bit word of the address in host (little-endian) order.
        for (int i = 0; i + 4 <= bytes.Length; i += 4)
        {
            Array.Reverse(bytes, i, 4);
        }

        var ip = new IPAddress(bytes);
        return bytes.Length == 16 ? $"[{ip}]:{port}" : $"{ip}:{port}";
    }
}
