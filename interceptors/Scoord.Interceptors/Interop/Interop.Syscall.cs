using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>kcmp(2): no libc wrapper.</summary>
        internal const long SYS_kcmp = 312;
        internal const int KCMP_FILE = 0;

        /// <summary>
        /// syscall(2), for calls libc does not wrap. Declared with fixed integer arguments: glibc's syscall()
        /// is an assembly stub that only moves registers, so the varargs convention does not matter here.
        /// </summary>
        [LibraryImport(Name, SetLastError = true)]
        internal static partial long syscall(long number, long a1, long a2, long a3, long a4, long a5);
    }
}
