using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const short POLLIN = 0x001;

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial int poll(PollFd* fds, ulong nfds, int timeout);
    }
}
