using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const int XATTR_CREATE = 1, XATTR_REPLACE = 2;

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial int lsetxattr(byte* path, byte* name, byte* value, nuint size, int flags);

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial int fsetxattr(int fd, byte* name, byte* value, nuint size, int flags);
    }
}
