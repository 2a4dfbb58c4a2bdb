using System.Text;
using Scoord.Interceptors;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Memory;

/// <summary>
/// Which pages of a range hold content and which were written since they were last write-protected: the
/// PAGEMAP_SCAN ioctl of /proc/PID/pagemap (kernels >= 6.7) gives runs of pages with their categories
/// (present, swapped, file page, zero page, written, soft-dirty); where it is missing, the 64-bit entries
/// of /proc/PID/pagemap give present, swapped, file and soft-dirty (not written, not the zero page).
/// </summary>
internal sealed unsafe class PageScanner : IDisposable
{
    public const ulong Content = 1, Written = 2, SoftDirty = 4;

    private const int VecLength = 4096;
    private static int s_scanSupported = -1;

    private readonly Interop.PageRegion[] _vec = new Interop.PageRegion[VecLength];
    private readonly ulong[] _entries = new ulong[VecLength];
    private int _fd;

    public PageScanner(int pid)
    {
        _fd = Open(pid);
        if (_fd < 0)
        {
            throw new InjectionException($"cannot open /proc/{pid}/pagemap: {Interop.LastErrno}");
        }
    }

    /// <summary>The pagemap fd (PAGEMAP_SCAN also write-protects through it).</summary>
    public int Fd => _fd;

    /// <summary>True when the kernel has PAGEMAP_SCAN (probed once on scoord's own pagemap).</summary>
    public static bool ScanSupported
    {
        get
        {
            if (s_scanSupported < 0)
            {
                int fd = Open(Environment.ProcessId);
                var arg = new Interop.PmScanArg { size = (ulong)sizeof(Interop.PmScanArg), start = 0, end = 0 };
                s_scanSupported = fd >= 0 && ioctl(fd, PAGEMAP_SCAN, &arg) >= 0 ? 1 : 0;
                if (fd >= 0)
                {
                    close(fd);
                }
            }

            return s_scanSupported == 1;
        }
    }

    /// <summary>
    /// Calls <paramref name="page"/> for every page of [start, end) that holds content (present and anonymous
    /// or copied-on-write, not the shared zero page; or swapped out), with its flags (<see cref="Written"/>,
    /// <see cref="SoftDirty"/>), in ascending order.
    /// </summary>
    public void Scan(ulong start, ulong end, Action<ulong, ulong> page)
    {
        if (ScanSupported)
        {
            ScanIoctl(start, end, page);
        }
        else
        {
            ScanEntries(start, end, page);
        }
    }

    private void ScanIoctl(ulong start, ulong end, Action<ulong, ulong> page)
    {
        ulong at = start;
        ulong next = start; // pages below were reported: a walk that ends early may report part of its last range again
        fixed (Interop.PageRegion* vec = _vec)
        {
            while (at < end)
            {
                var arg = new Interop.PmScanArg
                {
                    size = (ulong)sizeof(Interop.PmScanArg),
                    start = at,
                    end = end,
                    vec = (ulong)vec,
                    vec_len = VecLength,
                    category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
                    return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED | PAGE_IS_FILE | PAGE_IS_PFNZERO | PAGE_IS_WRITTEN | PAGE_IS_SOFT_DIRTY,
                };
                int n = ioctl(_fd, PAGEMAP_SCAN, &arg);
                if (n < 0)
                {
                    throw new InjectionException($"PAGEMAP_SCAN failed at 0x{at:x}: {Interop.LastErrno}");
                }

                for (int i = 0; i < n; i++)
                {
                    ulong c = vec[i].categories;
                    bool content = (c & PAGE_IS_SWAPPED) != 0 || ((c & PAGE_IS_PRESENT) != 0 && (c & (PAGE_IS_FILE | PAGE_IS_PFNZERO)) == 0);
                    if (!content)
                    {
                        continue;
                    }

                    ulong flags = Content | ((c & PAGE_IS_WRITTEN) != 0 ? Written : 0) | ((c & PAGE_IS_SOFT_DIRTY) != 0 ? SoftDirty : 0);
                    for (ulong p = Math.Max(vec[i].start, next); p < vec[i].end; p += 4096)
                    {
                        page(p, flags);
                        next = p + 4096;
                    }
                }

                if (arg.walk_end <= at)
                {
                    break;
                }

                at = arg.walk_end;
            }
        }
    }

    private void ScanEntries(ulong start, ulong end, Action<ulong, ulong> page)
    {
        const ulong present = 1UL << 63, swapped = 1UL << 62, file = 1UL << 61, softDirty = 1UL << 55;
        fixed (ulong* e = _entries)
        {
            for (ulong at = start; at < end;)
            {
                ulong count = Math.Min((end - at) / 4096, (ulong)VecLength);
                nint n = pread(_fd, (byte*)e, (nuint)(count * 8), (long)(at / 4096 * 8));
                if (n <= 0)
                {
                    throw new InjectionException($"reading pagemap at 0x{at:x}: {Interop.LastErrno}");
                }

                ulong got = (ulong)n / 8;
                for (ulong i = 0; i < got; i++)
                {
                    ulong v = e[i];
                    if ((v & swapped) != 0 || ((v & present) != 0 && (v & file) == 0))
                    {
                        page(at + (i * 4096), Content | Written | ((v & softDirty) != 0 ? SoftDirty : 0));
                    }
                }

                at += got * 4096;
            }
        }
    }

    private static int Open(int pid)
    {
        byte[] path = Encoding.ASCII.GetBytes($"/proc/{pid}/pagemap\0");
        fixed (byte* p = path)
        {
            return open(p, O_RDONLY | O_CLOEXEC, 0);
        }
    }

    public void Dispose()
    {
        if (_fd >= 0)
        {
            close(_fd);
            _fd = -1;
        }
    }
}
