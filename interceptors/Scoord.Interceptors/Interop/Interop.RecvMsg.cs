using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const int MSG_CMSG_CLOEXEC = 0x40000000;

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial nint recvmsg(int fd, MsgHdr* msg, int flags);
    }
}
