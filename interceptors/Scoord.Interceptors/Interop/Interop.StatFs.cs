using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial int statfs(byte* path, StatFs* buf);
    }

    /// <summary>struct statfs on x86_64 (120 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct StatFs
    {
        public long f_type;
        public long f_bsize;
        public ulong f_blocks;
        public ulong f_bfree;
        public ulong f_bavail;
        public ulong f_files;
        public ulong f_ffree;
        public ulong f_fsid;
        public long f_namelen;
        public long f_frsize;
        public long f_flags;
        public long f_spare0;
        public long f_spare1;
        public long f_spare2;
        public long f_spare3;
    }
}
