using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    /// <summary>struct uffdio_api (linux/userfaultfd.h).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct UffdioApi
    {
        public ulong api;
        public ulong features;
        public ulong ioctls;
    }

    /// <summary>struct uffdio_register.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct UffdioRegister
    {
        public ulong start;
        public ulong len;
        public ulong mode;
        public ulong ioctls;
    }

    /// <summary>struct uffdio_writeprotect.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct UffdioWriteprotect
    {
        public ulong start;
        public ulong len;
        public ulong mode;
    }

    internal static partial class Libc
    {
        internal const ulong UFFD_API = 0xAA;
        internal const ulong UFFDIO_API = 0xC018AA3F;
        internal const ulong UFFDIO_REGISTER = 0xC020AA00;
        internal const ulong UFFDIO_UNREGISTER = 0x8010AA01;
        internal const ulong UFFDIO_WRITEPROTECT = 0xC018AA06;
        internal const ulong UFFDIO_REGISTER_MODE_WP = 2;
        internal const ulong UFFDIO_WRITEPROTECT_MODE_WP = 1;
        internal const ulong UFFD_FEATURE_WP_UNPOPULATED = 1 << 13;
        internal const ulong UFFD_FEATURE_WP_ASYNC = 1 << 15;
        /// <summary>userfaultfd(2) flag: handle faults of user mode only (allowed without privileges).</summary>
        internal const int UFFD_USER_MODE_ONLY = 1;
    }
}
