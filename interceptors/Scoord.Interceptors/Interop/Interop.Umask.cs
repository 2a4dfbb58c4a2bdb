using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>umask(2): the rollback creates objects with their recorded modes exactly (umask 0).</summary>
        [LibraryImport(Name)]
        internal static partial uint umask(uint mask);
    }
}
