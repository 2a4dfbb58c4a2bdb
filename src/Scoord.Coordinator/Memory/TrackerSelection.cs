using System.Text;
using Scoord.Interceptors;
using Scoord.Journal.Memory;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Memory;

/// <summary>
/// Which dirty-page tracker incremental images use: userfaultfd write-protection in async mode read with
/// PAGEMAP_SCAN where the kernel has both (>= 6.7), else the soft-dirty bit where the kernel has it
/// (CONFIG_MEM_SOFT_DIRTY; probed by writing a page after clearing the bits), else per-page content hashes.
/// SCOORD_MEMORY_TRACKER=uffd-wp|soft-dirty|hash|full forces one (tests use it to run each).
/// </summary>
internal static unsafe class TrackerSelection
{
    private static int s_softDirty = -1;

    public static PageTracker Choose()
    {
        string? forced = Environment.GetEnvironmentVariable("SCOORD_MEMORY_TRACKER");
        if (PageTrackers.TryParse(forced, out PageTracker t))
        {
            return t switch
            {
                PageTracker.UffdWp when !PageScanner.ScanSupported => SoftDirtyWorks ? PageTracker.SoftDirty : PageTracker.ContentHash,
                PageTracker.SoftDirty when !SoftDirtyWorks => PageTracker.ContentHash,
                _ => t,
            };
        }

        return PageScanner.ScanSupported ? PageTracker.UffdWp : SoftDirtyWorks ? PageTracker.SoftDirty : PageTracker.ContentHash;
    }

    /// <summary>The soft-dirty bit (bit 55 of /proc/PID/pagemap) is set again by a write after `echo 4 > clear_refs`.</summary>
    public static bool SoftDirtyWorks
    {
        get
        {
            if (s_softDirty < 0)
            {
                s_softDirty = ProbeSoftDirty() ? 1 : 0;
            }

            return s_softDirty == 1;
        }
    }

    private static bool ProbeSoftDirty()
    {
        byte* page = (byte*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc(4096, 4096);
        try
        {
            page[0] = 1;
            if (!ClearSoftDirty(Environment.ProcessId))
            {
                return false;
            }

            page[0] = 2;
            byte[] path = Encoding.ASCII.GetBytes("/proc/self/pagemap\0");
            int fd;
            fixed (byte* p = path)
            {
                fd = open(p, O_RDONLY | O_CLOEXEC, 0);
            }

            if (fd < 0)
            {
                return false;
            }

            ulong entry = 0;
            nint n = pread(fd, (byte*)&entry, 8, (long)((ulong)page / 4096 * 8));
            close(fd);
            return n == 8 && (entry & (1UL << 55)) != 0;
        }
        finally
        {
            System.Runtime.InteropServices.NativeMemory.AlignedFree(page);
        }
    }

    /// <summary>`echo 4 > /proc/PID/clear_refs`: the soft-dirty bits of every page of the process are cleared.</summary>
    public static bool ClearSoftDirty(int pid)
    {
        byte[] path = Encoding.ASCII.GetBytes($"/proc/{pid}/clear_refs\0");
        int fd;
        fixed (byte* p = path)
        {
            fd = open(p, O_WRONLY | O_CLOEXEC, 0);
        }

        if (fd < 0)
        {
            return false;
        }

        byte four = (byte)'4';
        nint n = write(fd, &four, 1);
        close(fd);
        return n == 1;
    }
}
