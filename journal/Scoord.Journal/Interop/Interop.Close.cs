using System.Runtime.InteropServices;

namespace Scoord.Journal;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(LibraryName, EntryPoint = "close", SetLastError = true)]
        internal static partial int close(int fd);
    }
}
