using System.Text;
using Scoord.Interceptors;
using Scoord.Journal;
using Scoord.Journal.Memory;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Memory;

/// <summary>
/// Phase three of a dump: the pages. Content pages (present and anonymous or copied-on-write, or swapped
/// out) are found with <see cref="PageScanner"/>; those to store are all of them in a full image, else those
/// the tracker says were written since the process's last image (userfaultfd-WP or soft-dirty), or whose
/// hash changed (content hashing). Stored pages are hashed (SHA-256) and written once per content: a page
/// whose hash the journal already has costs nothing but its map entry.
/// </summary>
internal sealed unsafe class PageCapture(JournalWriter writer, HashSet<Hash256> known)
{
    private const int PageSize = PageMapWindow.PageSize;
    private const int RunPages = 256;

    private readonly byte[] _buffer = new byte[RunPages * PageSize];

    /// <summary>Page bytes written that the journal did not hold before.</summary>
    public long NewBytes { get; private set; }

    public CapturedPages Capture(ScannedProcess sp, ProcessMemory memory, ProcessTracking tracking, PageTracker mode, int checkpoint)
    {
        bool incremental = mode != PageTracker.Full && tracking.LastImage > 0;
        var result = new CapturedPages { Tracker = incremental ? mode : PageTracker.Full };
        var content = new List<ulong>();
        var dirty = new List<ulong>();
        var hashed = new List<ulong>();
        var areas = new Dictionary<ulong, MappedArea>();
        foreach (MappedArea a in sp.Areas)
        {
            areas[a.Start] = a;
        }

        using (var scanner = new PageScanner(sp.Pid))
        {
            foreach (VmaImage v in sp.Image.Vmas)
            {
                if (v.Kind is not (VmaKind.Anonymous or VmaKind.FilePrivate))
                {
                    continue;
                }

                // Pages of a mapping the tracker follows are listed when written (or new); pages of the others
                // (every mapping under content hashing, mappings of files under userfaultfd) are read and
                // listed when their hash changed.
                MappedArea area = areas[v.Start];
                bool tracked = mode switch
                {
                    PageTracker.UffdWp => UffdTracker.Eligible(area),
                    PageTracker.SoftDirty => true,
                    _ => false,
                };
                bool trackedNow = tracked && incremental && (mode != PageTracker.UffdWp || (area.Has("uw") && tracking.IsRegistered(v.Start, v.End)));
                ulong written = mode == PageTracker.SoftDirty ? PageScanner.SoftDirty : PageScanner.Written;
                scanner.Scan(v.Start, v.End, (page, flags) =>
                {
                    content.Add(page);
                    if (trackedNow)
                    {
                        if ((flags & written) != 0 || !tracking.Content.Contains(page))
                        {
                            dirty.Add(page);
                        }
                    }
                    else if (!tracked && mode != PageTracker.Full)
                    {
                        hashed.Add(page);
                    }
                    else
                    {
                        dirty.Add(page);
                    }
                });
            }
        }

        tracking.PendingImage = checkpoint;
        tracking.PendingContent = new HashSet<ulong>(content);
        tracking.PendingHashes = hashed.Count > 0 ? new Dictionary<ulong, Hash256>(hashed.Count) : null;
        var listed = new Dictionary<ulong, Hash256>();
        Read(memory, dirty, (page, hash) => listed[page] = hash);
        Read(memory, hashed, (page, hash) =>
        {
            tracking.PendingHashes![page] = hash;
            if (!incremental || tracking.Hashes is null || !tracking.Hashes.TryGetValue(page, out Hash256 old) || old != hash)
            {
                listed[page] = hash;
            }
        });

        result.ContentPages = content.Count;
        result.ListedPages = listed.Count;
        Build(result.Windows, content, listed, 0);
        return result;
    }

    /// <summary>A shared anonymous memory object, read through a process's /proc/PID/map_files entry: always whole.</summary>
    public CapturedPages CaptureShared(SharedSource source)
    {
        var result = new CapturedPages { Tracker = PageTracker.Full };
        byte[] path = Encoding.ASCII.GetBytes($"/proc/{source.Pid}/map_files/{source.Start:x}-{source.End:x}\0");
        int fd;
        fixed (byte* p = path)
        {
            fd = open(p, O_RDONLY | O_CLOEXEC, 0);
        }

        if (fd < 0)
        {
            throw new InjectionException($"cannot open the shared memory of pid {source.Pid} at 0x{source.Start:x}: {Interop.LastErrno}");
        }

        var content = new List<ulong>();
        var hashes = new Dictionary<ulong, Hash256>();
        try
        {
            for (ulong off = 0; off < source.Size; off += (ulong)_buffer.Length)
            {
                int want = (int)Math.Min((ulong)_buffer.Length, source.Size - off);
                want = (want + PageSize - 1) & ~(PageSize - 1);
                Array.Clear(_buffer, 0, want);
                fixed (byte* b = _buffer)
                {
                    int got = 0;
                    while (got < want)
                    {
                        nint n = pread(fd, b + got, (nuint)(want - got), (long)off + got);
                        if (n <= 0)
                        {
                            break; // past the end: zeros
                        }

                        got += (int)n;
                    }
                }

                for (int i = 0; i < want; i += PageSize)
                {
                    ReadOnlySpan<byte> page = _buffer.AsSpan(i, PageSize);
                    if (page.IndexOfAnyExcept((byte)0) < 0)
                    {
                        continue;
                    }

                    ulong at = off + (ulong)i;
                    content.Add(at);
                    hashes[at] = Store(page);
                }
            }
        }
        finally
        {
            close(fd);
        }

        result.ContentPages = content.Count;
        result.ListedPages = content.Count;
        Build(result.Windows, content, hashes, 0);
        return result;
    }

    /// <summary>Reads the pages (ascending addresses) in runs, hashes each and stores those the journal does not have.</summary>
    private void Read(ProcessMemory memory, List<ulong> pages, Action<ulong, Hash256> done)
    {
        int i = 0;
        while (i < pages.Count)
        {
            int n = 1;
            while (i + n < pages.Count && n < RunPages && pages[i + n] == pages[i] + ((ulong)n * PageSize))
            {
                n++;
            }

            Span<byte> run = _buffer.AsSpan(0, n * PageSize);
            if (!memory.TryRead(pages[i], run))
            {
                // One unreadable page fails the image; find which for the message.
                for (int k = 0; k < n; k++)
                {
                    memory.Read(pages[i + k], run.Slice(k * PageSize, PageSize));
                }
            }

            for (int k = 0; k < n; k++)
            {
                done(pages[i + k], Store(run.Slice(k * PageSize, PageSize)));
            }

            i += n;
        }
    }

    private Hash256 Store(ReadOnlySpan<byte> page)
    {
        Hash256 h = Hash256.Of(page);
        if (known.Add(h))
        {
            Span<byte> key = stackalloc byte[32];
            h.CopyTo(key);
            writer.PutPage(key, page);
            NewBytes += PageSize;
        }

        return h;
    }

    /// <summary>Windows of 64 MiB: runs of content pages, and the entries of the pages listed.</summary>
    private static void Build(SortedDictionary<ulong, PageMapWindow> windows, List<ulong> content, Dictionary<ulong, Hash256> listed, ulong baseAddress)
    {
        PageMapWindow? w = null;
        int runFirst = -1;
        int runCount = 0;
        foreach (ulong address in content)
        {
            ulong a = address - baseAddress;
            ulong window = a >> PageMapWindow.WindowShift;
            int page = (int)((a >> PageMapWindow.PageShift) & (PageMapWindow.PagesPerWindow - 1));
            if (w is null || w.Window != window)
            {
                if (w is not null && runCount > 0)
                {
                    w.Runs.Add((runFirst, runCount));
                }

                w = new PageMapWindow { Window = window };
                windows[window] = w;
                runFirst = page;
                runCount = 0;
            }

            if (runCount > 0 && page != runFirst + runCount)
            {
                w.Runs.Add((runFirst, runCount));
                runFirst = page;
                runCount = 0;
            }

            if (runCount == 0)
            {
                runFirst = page;
            }

            runCount++;
            if (listed.TryGetValue(address, out Hash256 h))
            {
                w.Entries.Add((page, h.ToArray()));
            }
        }

        if (w is not null && runCount > 0)
        {
            w.Runs.Add((runFirst, runCount));
        }
    }
}
