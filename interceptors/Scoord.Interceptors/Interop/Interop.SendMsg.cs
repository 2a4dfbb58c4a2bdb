using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const int SOL_SOCKET = 1;
        internal const int SCM_RIGHTS = 1;
        internal const int MSG_NOSIGNAL = 0x4000;

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial nint sendmsg(int fd, MsgHdr* msg, int flags);
    }
}
