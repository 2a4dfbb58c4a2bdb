using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const int PR_SET_CHILD_SUBREAPER = 36;

        [LibraryImport(Name, SetLastError = true)]
        internal static partial int prctl(int option, ulong arg2, ulong arg3, ulong arg4, ulong arg5);
    }
}
