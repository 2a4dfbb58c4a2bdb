using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>glibc's posix_spawn_file_actions_t is 80 bytes; this leaves room.</summary>
        internal const int SpawnFileActionsSize = 256;

        [LibraryImport(Name)]
        internal static unsafe partial int posix_spawn_file_actions_init(void* actions);

        [LibraryImport(Name)]
        internal static unsafe partial int posix_spawn_file_actions_destroy(void* actions);

        [LibraryImport(Name)]
        internal static unsafe partial int posix_spawn_file_actions_adddup2(void* actions, int fd, int newfd);

        [LibraryImport(Name)]
        internal static unsafe partial int posix_spawn_file_actions_addchdir_np(void* actions, byte* path);
    }
}
