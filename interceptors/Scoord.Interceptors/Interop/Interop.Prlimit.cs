using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    /// <summary>struct rlimit64.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct RLimit
    {
        public ulong rlim_cur;
        public ulong rlim_max;
    }

    internal static partial class Libc
    {
        internal const int RLIM_NLIMITS = 16;

        [LibraryImport(Name, EntryPoint = "prlimit64", SetLastError = true)]
        internal static unsafe partial int prlimit(int pid, int resource, RLimit* newLimit, RLimit* oldLimit);
    }
}
