using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial int linkat(int olddirfd, byte* oldpath, int newdirfd, byte* newpath, int flags);
    }
}
