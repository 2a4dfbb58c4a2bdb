using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    /// <summary>struct pm_scan_arg (linux/fs.h, kernels >= 6.7): the PAGEMAP_SCAN ioctl of /proc/PID/pagemap.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct PmScanArg
    {
        public ulong size;
        public ulong flags;
        public ulong start;
        public ulong end;
        public ulong walk_end;
        public ulong vec;
        public ulong vec_len;
        public ulong max_pages;
        public ulong category_inverted;
        public ulong category_mask;
        public ulong category_anyof_mask;
        public ulong return_mask;
    }

    /// <summary>struct page_region: a run of pages with the same categories.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct PageRegion
    {
        public ulong start;
        public ulong end;
        public ulong categories;
    }

    internal static partial class Libc
    {
        /// <summary>_IOWR('f', 16, struct pm_scan_arg).</summary>
        internal const ulong PAGEMAP_SCAN = 0xC0606610;
        internal const ulong PM_SCAN_WP_MATCHING = 1;
        internal const ulong PM_SCAN_CHECK_WPASYNC = 2;
        internal const ulong PAGE_IS_WPALLOWED = 1 << 0;
        internal const ulong PAGE_IS_WRITTEN = 1 << 1;
        internal const ulong PAGE_IS_FILE = 1 << 2;
        internal const ulong PAGE_IS_PRESENT = 1 << 3;
        internal const ulong PAGE_IS_SWAPPED = 1 << 4;
        internal const ulong PAGE_IS_PFNZERO = 1 << 5;
        internal const ulong PAGE_IS_HUGE = 1 << 6;
        internal const ulong PAGE_IS_SOFT_DIRTY = 1 << 7;
    }
}
