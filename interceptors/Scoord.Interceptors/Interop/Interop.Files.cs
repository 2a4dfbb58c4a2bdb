using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const int AT_FDCWD = -100;
        internal const int AT_SYMLINK_NOFOLLOW = 0x100;
        internal const int AT_REMOVEDIR = 0x200;
        internal const int AT_SYMLINK_FOLLOW = 0x400;
        internal const int AT_EMPTY_PATH = 0x1000;

        internal const int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_ACCMODE = 3;
        internal const int O_CREAT = 0x40, O_EXCL = 0x80, O_NOCTTY = 0x100, O_TRUNC = 0x200, O_APPEND = 0x400;
        internal const int O_NONBLOCK = 0x800, O_DIRECTORY = 0x10000, O_NOFOLLOW = 0x20000, O_CLOEXEC = 0x80000;
        internal const int O_PATH = 0x200000, O_TMPFILE = 0x410000;

        internal const int F_DUPFD = 0, F_GETFD = 1, F_SETFD = 2, F_GETFL = 3, F_SETFL = 4, F_DUPFD_CLOEXEC = 1030;
        internal const int FD_CLOEXEC = 1;
        internal const int SEEK_CUR = 1;
        internal const int LOCK_EX = 2, LOCK_NB = 4;

        internal const uint S_IFMT = 0xF000, S_IFSOCK = 0xC000, S_IFLNK = 0xA000, S_IFREG = 0x8000;
        internal const uint S_IFBLK = 0x6000, S_IFDIR = 0x4000, S_IFCHR = 0x2000, S_IFIFO = 0x1000;

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial int fstatat(int dirfd, byte* path, Stat* buf, int flags);

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial int fstat(int fd, Stat* buf);

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial int fstatfs(int fd, StatFs* buf);

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial int statfs(byte* path, StatFs* buf);

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial nint readlink(byte* path, byte* buf, nuint size);

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial int open(byte* path, int flags, int mode);

        [LibraryImport(Name, SetLastError = true)]
        internal static partial int close(int fd);

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial byte* realpath(byte* path, byte* resolved);

        [LibraryImport(Name, SetLastError = true)]
        internal static partial long lseek(int fd, long offset, int whence);

        [LibraryImport(Name, SetLastError = true)]
        internal static partial int fcntl(int fd, int cmd, int arg);

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial int pipe2(int* fds, int flags);

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial nint write(int fd, byte* buf, nuint count);

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial nint read(int fd, byte* buf, nuint count);

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial nint pread(int fd, byte* buf, nuint count, long offset);
    }
}
