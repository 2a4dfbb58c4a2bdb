namespace Scoord.Interceptors;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // fcntl.h: open(2) flags, *at(2) flags, fcntl(2) commands.
        internal const int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_ACCMODE = 3;
        internal const int O_CREAT = 0x40, O_EXCL = 0x80, O_NOCTTY = 0x100, O_TRUNC = 0x200, O_APPEND = 0x400;
        internal const int O_NONBLOCK = 0x800, O_DIRECTORY = 0x10000, O_NOFOLLOW = 0x20000, O_NOATIME = 0x40000, O_CLOEXEC = 0x80000;
        internal const int O_PATH = 0x200000, O_TMPFILE = 0x410000;

        /// <summary>O_SYNC is O_DSYNC | __O_SYNC: a test for O_DSYNC catches both.</summary>
        internal const int O_DSYNC = 0x1000;

        internal const int AT_FDCWD = -100;
        internal const int AT_SYMLINK_NOFOLLOW = 0x100;
        internal const int AT_REMOVEDIR = 0x200;
        internal const int AT_SYMLINK_FOLLOW = 0x400;
        internal const int AT_EMPTY_PATH = 0x1000;
    }
}
