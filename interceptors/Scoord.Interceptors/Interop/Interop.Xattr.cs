using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const int SEEK_SET = 0, SEEK_END = 2, SEEK_DATA = 3, SEEK_HOLE = 4;
        internal const int O_NOATIME = 0x40000;
        internal const int XATTR_CREATE = 1, XATTR_REPLACE = 2;
        internal const int FALLOC_FL_KEEP_SIZE = 1, FALLOC_FL_PUNCH_HOLE = 2, FALLOC_FL_COLLAPSE_RANGE = 8, FALLOC_FL_ZERO_RANGE = 0x10, FALLOC_FL_INSERT_RANGE = 0x20;
        internal const int ENXIO = 6, ENODATA = 61, ERANGE = 34;

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial nint llistxattr(byte* path, byte* list, nuint size);

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial nint lgetxattr(byte* path, byte* name, byte* value, nuint size);

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial int lsetxattr(byte* path, byte* name, byte* value, nuint size, int flags);

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial int lremovexattr(byte* path, byte* name);

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial nint listxattr(byte* path, byte* list, nuint size);

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial nint getxattr(byte* path, byte* name, byte* value, nuint size);

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial nint flistxattr(int fd, byte* list, nuint size);

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial nint fgetxattr(int fd, byte* name, byte* value, nuint size);

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial int openat(int dirfd, byte* path, int flags, int mode);

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial nint pwrite(int fd, byte* buf, nuint count, long offset);

        [LibraryImport(Name, SetLastError = true)]
        internal static partial int ftruncate(int fd, long length);

        [LibraryImport(Name, SetLastError = true)]
        internal static partial int fallocate(int fd, int mode, long offset, long len);

        [LibraryImport(Name, SetLastError = true)]
        internal static partial int fchown(int fd, uint uid, uint gid);

        [LibraryImport(Name, SetLastError = true)]
        internal static partial int fchmod(int fd, uint mode);

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial int fchownat(int dirfd, byte* path, uint uid, uint gid, int flags);

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial int fchmodat(int dirfd, byte* path, uint mode, int flags);

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial int utimensat(int dirfd, byte* path, long* times, int flags);

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial int unlinkat(int dirfd, byte* path, int flags);

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial int renameat2(int olddirfd, byte* oldpath, int newdirfd, byte* newpath, uint flags);

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial int mkdirat(int dirfd, byte* path, uint mode);

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial int mknodat(int dirfd, byte* path, uint mode, ulong dev);

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial int symlinkat(byte* target, int newdirfd, byte* linkpath);

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial int linkat(int olddirfd, byte* oldpath, int newdirfd, byte* newpath, int flags);

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial nint readlinkat(int dirfd, byte* path, byte* buf, nuint size);

        [LibraryImport(Name, SetLastError = true)]
        internal static partial int fsync(int fd);
    }
}
