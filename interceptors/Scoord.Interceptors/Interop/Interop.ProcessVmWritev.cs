using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial nint process_vm_writev(int pid, IoVec* local, ulong liovcnt, IoVec* remote, ulong riovcnt, ulong flags);
    }
}
