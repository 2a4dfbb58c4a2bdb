namespace Scoord.Interceptors;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // sys/stat.h: the file type bits of st_mode.
        internal const uint S_IFMT = 0xF000, S_IFSOCK = 0xC000, S_IFLNK = 0xA000, S_IFREG = 0x8000;
        internal const uint S_IFBLK = 0x6000, S_IFDIR = 0x4000, S_IFCHR = 0x2000, S_IFIFO = 0x1000;
    }
}
