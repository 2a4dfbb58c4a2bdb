using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial nint listxattr(byte* path, byte* list, nuint size);

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial nint llistxattr(byte* path, byte* list, nuint size);

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial nint flistxattr(int fd, byte* list, nuint size);
    }
}
