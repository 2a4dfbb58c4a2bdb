using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const int F_DUPFD = 0, F_GETFD = 1, F_SETFD = 2, F_GETFL = 3, F_SETFL = 4, F_DUPFD_CLOEXEC = 1030;
        internal const int FD_CLOEXEC = 1;

        [LibraryImport(Name, SetLastError = true)]
        internal static partial int fcntl(int fd, int cmd, int arg);
    }
}
