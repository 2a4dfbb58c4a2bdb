using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Scoord.Interceptors;

namespace Scoord.Coordinator.Control;

/// <summary>Where the control socket lives and who may talk to it.</summary>
internal static class ControlSocket
{
    /// <summary>File name of the socket inside the journal directory.</summary>
    public const string FileName = "control.sock";

    /// <summary>sun_path holds 108 bytes including the terminating NUL.</summary>
    public const int MaxPathBytes = 107;

    private const int SolSocket = 1;
    private const int SoPeerCred = 17;

    public static string PathIn(string journalDir) => Path.Combine(Path.GetFullPath(journalDir), FileName);

    /// <summary>Null if the path fits into sockaddr_un, else why not.</summary>
    public static string? CheckPathLength(string socketPath)
    {
        int n = Encoding.UTF8.GetByteCount(socketPath);
        return n <= MaxPathBytes
            ? null
            : $"the control socket path {socketPath} is {n} bytes, more than the {MaxPathBytes} a unix socket address holds (use a shorter --journal path)";
    }

    /// <summary>The peer's (pid, uid, gid) from SO_PEERCRED; false if the kernel would not say.</summary>
    public static bool TryGetPeerCredentials(Socket socket, out int pid, out uint uid, out uint gid)
    {
        Span<byte> ucred = stackalloc byte[12];
        pid = 0;
        uid = uint.MaxValue;
        gid = uint.MaxValue;
        try
        {
            if (socket.GetRawSocketOption(SolSocket, SoPeerCred, ucred) != 12)
            {
                return false;
            }
        }
        catch (SocketException)
        {
            return false;
        }

        pid = BinaryPrimitives.ReadInt32LittleEndian(ucred);
        uid = BinaryPrimitives.ReadUInt32LittleEndian(ucred[4..]);
        gid = BinaryPrimitives.ReadUInt32LittleEndian(ucred[8..]);
        return true;
    }

    /// <summary>Only the coordinator's own (effective) uid and root may connect.</summary>
    public static bool IsAllowed(uint peerUid, uint ownUid) => peerUid == ownUid || peerUid == 0;

    public static uint EffectiveUid => Interop.Libc.geteuid();
}
