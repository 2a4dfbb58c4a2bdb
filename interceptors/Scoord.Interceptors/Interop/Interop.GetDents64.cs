using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>Directory entries as struct linux_dirent64 (u64 d_ino, s64 d_off, u16 d_reclen, u8 d_type, name NUL-terminated).</summary>
        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial nint getdents64(int fd, byte* buf, nuint count);
    }
}
