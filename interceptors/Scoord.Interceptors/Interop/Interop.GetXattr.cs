using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial nint getxattr(byte* path, byte* name, byte* value, nuint size);

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial nint lgetxattr(byte* path, byte* name, byte* value, nuint size);

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial nint fgetxattr(int fd, byte* name, byte* value, nuint size);
    }
}
