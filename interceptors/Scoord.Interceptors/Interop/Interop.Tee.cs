using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const uint SPLICE_F_NONBLOCK = 2;

        /// <summary>tee(2): duplicates pipe content into another pipe without consuming it.</summary>
        [LibraryImport(Name, SetLastError = true)]
        internal static partial nint tee(int fdIn, int fdOut, nuint length, uint flags);
    }
}
