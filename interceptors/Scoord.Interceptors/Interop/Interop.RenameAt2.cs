using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>renameat2 flags (linux/fs.h).</summary>
        internal const uint RENAME_NOREPLACE = 1, RENAME_EXCHANGE = 2, RENAME_WHITEOUT = 4;

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial int renameat2(int olddirfd, byte* oldpath, int newdirfd, byte* newpath, uint flags);
    }
}
