using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>usleep(3): sleeps at least usec microseconds (plus the thread's timer slack, 50 µs by default).</summary>
        [LibraryImport(Name)]
        internal static partial int usleep(uint usec);
    }
}
