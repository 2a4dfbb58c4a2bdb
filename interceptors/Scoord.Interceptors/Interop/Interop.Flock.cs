using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const int LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4, LOCK_UN = 8;

        [LibraryImport(Name, SetLastError = true)]
        internal static partial int flock(int fd, int operation);
    }
}
