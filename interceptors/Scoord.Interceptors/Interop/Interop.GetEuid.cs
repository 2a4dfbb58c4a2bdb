using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Name)]
        internal static partial uint geteuid();
    }
}
