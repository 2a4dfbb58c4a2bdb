using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const int WNOHANG = 1;
        internal const int __WALL = 0x40000000;

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial int waitpid(int pid, int* status, int options);

        // sys/wait.h macros on the status waitpid gives.
        internal static bool WIFEXITED(int s) => (s & 0x7f) == 0;
        internal static int WEXITSTATUS(int s) => (s >> 8) & 0xff;
        internal static bool WIFSIGNALED(int s) => ((sbyte)((s & 0x7f) + 1) >> 1) > 0;
        internal static int WTERMSIG(int s) => s & 0x7f;
        internal static bool WIFSTOPPED(int s) => (s & 0xff) == 0x7f;
        internal static int WSTOPSIG(int s) => (s >> 8) & 0xff;
    }
}
