using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>posix_spawn: glibc implements it with clone(CLONE_VM|CLONE_VFORK), safe from a .NET process (fork is not).</summary>
        [LibraryImport(Name)]
        internal static unsafe partial int posix_spawn(int* pid, byte* path, void* fileActions, void* attr, byte** argv, byte** envp);
    }
}
