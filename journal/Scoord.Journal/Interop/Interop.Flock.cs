using System.Runtime.InteropServices;

namespace Scoord.Journal;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(LibraryName, EntryPoint = "flock", SetLastError = true)]
        internal static partial int flock(int fd, int operation);
    }
}
