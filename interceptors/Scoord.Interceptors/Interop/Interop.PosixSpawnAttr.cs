using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>glibc's posix_spawnattr_t is 336 bytes; this leaves room.</summary>
        internal const int SpawnAttrSize = 512;
        internal const short POSIX_SPAWN_SETPGROUP = 0x02;

        [LibraryImport(Name)]
        internal static unsafe partial int posix_spawnattr_init(void* attr);

        [LibraryImport(Name)]
        internal static unsafe partial int posix_spawnattr_destroy(void* attr);

        [LibraryImport(Name)]
        internal static unsafe partial int posix_spawnattr_setflags(void* attr, short flags);

        [LibraryImport(Name)]
        internal static unsafe partial int posix_spawnattr_setpgroup(void* attr, int pgroup);
    }
}
