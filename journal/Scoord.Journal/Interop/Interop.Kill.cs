using System.Runtime.InteropServices;

namespace Scoord.Journal;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const int SIGKILL = 9;

        [LibraryImport(LibraryName, EntryPoint = "kill", SetLastError = true)]
        internal static partial int kill(int pid, int sig);

        [LibraryImport(LibraryName, EntryPoint = "write", SetLastError = true)]
        internal static unsafe partial nint write(int fd, byte* buf, nuint count);
    }
}
