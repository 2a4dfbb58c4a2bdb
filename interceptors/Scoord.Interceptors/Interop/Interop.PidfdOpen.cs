using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const int PIDFD_THREAD = 0x80; // O_EXCL

        [LibraryImport(Name, SetLastError = true)]
        internal static partial int pidfd_open(int pid, uint flags);
    }
}
