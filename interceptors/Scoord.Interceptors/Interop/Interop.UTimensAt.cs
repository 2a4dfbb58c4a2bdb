using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>utimensat: leave this time as it is.</summary>
        internal const long UTIME_OMIT = (1L << 30) - 2;

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial int utimensat(int dirfd, byte* path, long* times, int flags);

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial int futimens(int fd, long* times);
    }
}
