using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>renameat2 flags (linux/fs.h).</summary>
        internal const uint RENAME_NOREPLACE = 1, RENAME_EXCHANGE = 2, RENAME_WHITEOUT = 4;

        /// <summary>utimensat: leave this time as it is.</summary>
        internal const long UTIME_OMIT = (1L << 30) - 2;

        /// <summary>umask(2): the rollback creates objects with their recorded modes exactly (umask 0).</summary>
        [LibraryImport(Name)]
        internal static partial uint umask(uint mask);
    }
}
