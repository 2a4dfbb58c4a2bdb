using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const int PRIO_PROCESS = 0;

        /// <summary>setpriority(2): on Linux the nice value of one thread (who = a tid, or 0 for the caller).</summary>
        [LibraryImport(Name, SetLastError = true)]
        internal static partial int setpriority(int which, uint who, int prio);

        /// <summary>getpriority(2): -1 is a valid answer; clear errno first to tell it from a failure.</summary>
        [LibraryImport(Name, SetLastError = true)]
        internal static partial int getpriority(int which, uint who);
    }
}
