using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>Populate (prefault) page tables writable, allocating the pages of a file mapping (Linux 5.14).</summary>
        internal const int MADV_POPULATE_WRITE = 23;

        [LibraryImport(Name, SetLastError = true)]
        internal static partial int madvise(nint addr, nuint length, int advice);
    }
}
