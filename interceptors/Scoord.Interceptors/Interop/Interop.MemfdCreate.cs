using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const uint MFD_CLOEXEC = 1;

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial int memfd_create(byte* name, uint flags);
    }
}
