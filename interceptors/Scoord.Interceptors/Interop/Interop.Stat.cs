using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    /// <summary>struct stat on x86_64 (144 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct Stat
    {
        public ulong st_dev;
        public ulong st_ino;
        public ulong st_nlink;
        public uint st_mode;
        public uint st_uid;
        public uint st_gid;
        public int __pad0;
        public ulong st_rdev;
        public long st_size;
        public long st_blksize;
        public long st_blocks;
        public long st_atime_sec;
        public long st_atime_nsec;
        public long st_mtime_sec;
        public long st_mtime_nsec;
        public long st_ctime_sec;
        public long st_ctime_nsec;
        public long __reserved0;
        public long __reserved1;
        public long __reserved2;
    }
}
