using System.Globalization;
using Scoord.Journal;
using Scoord.Journal.Memory;

namespace Scoord.Coordinator.Memory;

/// <summary>
/// What `scoord restore` of a memory image (--memory scoord) brings back, read from the journal and checked
/// before anything is changed: the image, its process, and the hash of every content page (an incremental
/// image resolved through its bases). <see cref="Refusal"/> says in one line why an image cannot be restored
/// by this version (the restore is refused before the rollback, never half done).
/// </summary>
internal sealed class RestoreSource
{
    private RestoreSource(MemoryImage image, ProcessImage process, SortedDictionary<ulong, byte[]> pages, MemoryImageStore store)
    {
        Image = image;
        Process = process;
        Pages = pages;
        Store = store;
    }

    public MemoryImage Image { get; }

    public ProcessImage Process { get; }

    /// <summary>Address of every content page → its hash.</summary>
    public SortedDictionary<ulong, byte[]> Pages { get; }

    public MemoryImageStore Store { get; }

    /// <summary>Reads checkpoint <paramref name="checkpoint"/>'s image; throws <see cref="ScoordException"/> with the reason when it cannot be restored.</summary>
    public static RestoreSource Load(JournalStore store, int checkpoint)
    {
        var images = new MemoryImageStore(store);
        MemoryImage image = images.ReadImage(checkpoint)
            ?? throw new ScoordException(string.Create(CultureInfo.InvariantCulture,
                $"checkpoint {checkpoint} has no memory image (it was taken while nothing ran, or without --memory scoord): restore it with `-- COMMAND` to relaunch a program instead"));
        if (image.Processes.Count != 1)
        {
            throw new ScoordException(string.Create(CultureInfo.InvariantCulture,
                $"the memory image of checkpoint {checkpoint} holds {image.Processes.Count} processes; this version restores a single process only"));
        }

        ProcessRef r = image.Processes[0];
        ProcessImage process = images.ReadProcess(checkpoint, r.Pid);
        string? why = Refusal(image, process);
        if (why is not null)
        {
            throw new ScoordException(string.Create(CultureInfo.InvariantCulture, $"the memory image of checkpoint {checkpoint} cannot be restored: {why}"));
        }

        SortedDictionary<ulong, byte[]> pages = images.ResolvePages(checkpoint, r.Pid, process.BaseCheckpoint);
        return new RestoreSource(image, process, pages, images);
    }

    /// <summary>Why this version cannot restore the process, or null.</summary>
    public static string? Refusal(MemoryImage image, ProcessImage p)
    {
        if (Interceptors.Interop.Libc.geteuid() != 0)
        {
            return "bringing a process back under its own pid needs root (clone3 with set_tid)";
        }

        if (KernelFacts.Mismatch(image) is { } kernel)
        {
            return kernel;
        }

        if (p.Threads.Count == 0)
        {
            return string.Create(CultureInfo.InvariantCulture, $"pid {p.Pid} has no thread in the image");
        }

        if (p.StdioGuarded)
        {
            // Its writes through fds 0-2 stop only under the stdio guard filter, which the restore does not install again.
            return string.Create(CultureInfo.InvariantCulture, $"pid {p.Pid} had put a journaled file on fd 0-2 (scoord's stdio guard filter), which this version does not restore");
        }

        if (p.Zombies.Count > 0)
        {
            return string.Create(CultureInfo.InvariantCulture, $"pid {p.Pid} has unreaped children (zombies), which this version does not recreate");
        }

        foreach (VmaImage v in p.Vmas)
        {
            if (v.Kind == VmaKind.SharedAnonymous)
            {
                return string.Create(CultureInfo.InvariantCulture, $"pid {p.Pid} has shared anonymous memory at 0x{v.Start:x}, which this version does not restore");
            }
        }

        var objects = new Dictionary<int, FileObject>();
        foreach (FileObject o in image.Objects)
        {
            objects[o.Id] = o;
        }

        foreach (FdImage fd in p.Fds)
        {
            if (!objects.TryGetValue(fd.Object, out FileObject? o))
            {
                return string.Create(CultureInfo.InvariantCulture, $"fd {fd.Fd} of pid {p.Pid} refers to a file object the image does not hold");
            }

            if (o.Kind == FileObjectKind.Pipe)
            {
                return string.Create(CultureInfo.InvariantCulture, $"fd {fd.Fd} of pid {p.Pid} is a pipe, which this version does not restore");
            }
        }

        return null;
    }
}
