using System.Runtime.InteropServices;

namespace Scoord.Journal;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(LibraryName, EntryPoint = "pread", SetLastError = true)]
        internal static unsafe partial nint pread(int fd, byte* buf, nuint count, long offset);

        [LibraryImport(LibraryName, EntryPoint = "pwrite", SetLastError = true)]
        internal static unsafe partial nint pwrite(int fd, byte* buf, nuint count, long offset);

        [LibraryImport(LibraryName, EntryPoint = "ftruncate", SetLastError = true)]
        internal static partial int ftruncate(int fd, long length);
    }
}
