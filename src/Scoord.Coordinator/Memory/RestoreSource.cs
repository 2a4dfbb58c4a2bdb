using System.Globalization;
using Scoord.Journal;
using Scoord.Journal.Memory;

namespace Scoord.Coordinator.Memory;

/// <summary>
/// What `scoord restore` of a memory image (--memory scoord) brings back, read from the journal and checked
/// before anything is changed: the image, its process tree, and the hash of every content page of each process
/// (an incremental image resolved through its bases). <see cref="Refusal"/> says in one line why an image cannot
/// be restored by this version (the restore is refused before the rollback, never half done).
/// </summary>
internal sealed class RestoreSource
{
    private RestoreSource(MemoryImage image, List<ProcessSource> processes, MemoryImageStore store)
    {
        Image = image;
        Processes = processes;
        Store = store;
        Roots = processes.FindAll(p => p.Image.Ppid == 0);
        ProcessSource first = Roots.Find(p => p.Pid == image.MainPid) ?? Roots[0];
        Roots.Remove(first);
        Roots.Insert(0, first);
        MainPid = processes.Exists(p => p.Pid == image.MainPid) ? image.MainPid : first.Pid;
    }

    public MemoryImage Image { get; }

    /// <summary>Every process of the image, each after its parent.</summary>
    public List<ProcessSource> Processes { get; }

    /// <summary>The processes that were scoord's children; the first one is made by the launcher, the others by it (CLONE_PARENT).</summary>
    public List<ProcessSource> Roots { get; }

    /// <summary>The pid the launcher makes (scoord-launch --restore PID).</summary>
    public int FirstPid => Roots[0].Pid;

    /// <summary>The program the run had started (its exit is the restored run's status); the first root when it had ended.</summary>
    public int MainPid { get; }

    public MemoryImageStore Store { get; }

    /// <summary>Reads checkpoint <paramref name="checkpoint"/>'s image; throws <see cref="ScoordException"/> with the reason when it cannot be restored.</summary>
    public static RestoreSource Load(JournalStore store, int checkpoint)
    {
        var images = new MemoryImageStore(store);
        MemoryImage image = images.ReadImage(checkpoint)
            ?? throw new ScoordException(string.Create(CultureInfo.InvariantCulture,
                $"checkpoint {checkpoint} has no memory image (it was taken while nothing ran, or without --memory scoord): restore it with `-- COMMAND` to relaunch a program instead"));
        var byPid = new Dictionary<int, ProcessImage>();
        foreach (ProcessRef r in image.Processes)
        {
            byPid[r.Pid] = images.ReadProcess(checkpoint, r.Pid);
        }

        string? why = Refusal(image, byPid) ?? PidInUse(byPid);
        if (why is not null)
        {
            throw new ScoordException(string.Create(CultureInfo.InvariantCulture, $"the memory image of checkpoint {checkpoint} cannot be restored: {why}"));
        }

        // Parents before children: each process is made by its parent (the roots by the launcher and the first root).
        var sources = new Dictionary<int, ProcessSource>();
        foreach ((int pid, ProcessImage p) in byPid)
        {
            sources[pid] = new ProcessSource(p, images.ResolvePages(checkpoint, pid, p.BaseCheckpoint));
        }

        var ordered = new List<ProcessSource>();
        foreach (ProcessSource s in sources.Values.OrderBy(s => s.Pid))
        {
            if (s.Image.Ppid == 0)
            {
                ordered.Add(s);
            }
            else
            {
                sources[s.Image.Ppid].Children.Add(s);
            }
        }

        for (int i = 0; i < ordered.Count; i++)
        {
            ordered.AddRange(ordered[i].Children);
        }

        return new RestoreSource(image, ordered, images);
    }

    /// <summary>Why this version cannot restore the image, or null.</summary>
    public static string? Refusal(MemoryImage image, IReadOnlyDictionary<int, ProcessImage> processes)
    {
        if (Interceptors.Interop.Libc.geteuid() != 0)
        {
            return "bringing a process back under its own pid needs root (clone3 with set_tid)";
        }

        if (KernelFacts.Mismatch(image) is { } kernel)
        {
            return kernel;
        }

        if (processes.Count == 0)
        {
            return "it holds no process";
        }

        var objects = new Dictionary<int, FileObject>();
        foreach (FileObject o in image.Objects)
        {
            objects[o.Id] = o;
        }

        var pipes = new HashSet<int>();
        foreach (PipeImage pipe in image.Pipes)
        {
            pipes.Add(pipe.Id);
        }

        foreach (ProcessImage p in processes.Values)
        {
            if (Refusal(p, processes, objects, pipes) is { } why)
            {
                return why;
            }
        }

        return null;
    }

    private static string? Refusal(ProcessImage p, IReadOnlyDictionary<int, ProcessImage> tree, Dictionary<int, FileObject> objects, HashSet<int> pipes)
    {
        if (p.Threads.Count == 0)
        {
            return string.Create(CultureInfo.InvariantCulture, $"pid {p.Pid} has no thread in the image");
        }

        if (p.Ppid != 0 && !tree.ContainsKey(p.Ppid))
        {
            return string.Create(CultureInfo.InvariantCulture, $"the parent {p.Ppid} of pid {p.Pid} is not in the image");
        }

        if (SessionRefusal(p, tree) is { } session)
        {
            return session;
        }

        foreach (VmaImage v in p.Vmas)
        {
            if (v.Kind == VmaKind.SharedAnonymous)
            {
                return string.Create(CultureInfo.InvariantCulture, $"pid {p.Pid} has shared anonymous memory at 0x{v.Start:x}, which this version does not restore");
            }
        }

        foreach (FdImage fd in p.Fds)
        {
            if (!objects.TryGetValue(fd.Object, out FileObject? o))
            {
                return string.Create(CultureInfo.InvariantCulture, $"fd {fd.Fd} of pid {p.Pid} refers to a file object the image does not hold");
            }

            if (o.Kind == FileObjectKind.Pipe && !pipes.Contains(o.Pipe))
            {
                return string.Create(CultureInfo.InvariantCulture, $"fd {fd.Fd} of pid {p.Pid} refers to a pipe the image does not hold");
            }
        }

        return null;
    }

    /// <summary>
    /// Every process and thread comes back under the id it had (clone3 with set_tid): one held by another
    /// process now refuses the restore before anything is rolled back, naming it. (A process could still take
    /// one between this check and the clone3; the clone3 then fails and says so.)
    /// </summary>
    private static string? PidInUse(IReadOnlyDictionary<int, ProcessImage> processes)
    {
        foreach (ProcessImage p in processes.Values.OrderBy(p => p.Pid))
        {
            foreach (ThreadImage th in p.Threads)
            {
                // /proc/TID resolves for a thread id too, though only thread-group leaders are listed.
                if (!Directory.Exists("/proc/" + th.Tid.ToString(CultureInfo.InvariantCulture)))
                {
                    continue;
                }

                string comm;
                try
                {
                    comm = File.ReadAllText($"/proc/{th.Tid}/comm").Trim();
                }
                catch (IOException)
                {
                    comm = "?";
                }

                string which = th.Tid == p.Pid ? $"pid {p.Pid}" : $"thread id {th.Tid} (of pid {p.Pid})";
                return string.Create(CultureInfo.InvariantCulture,
                    $"{which} is in use by another process now ({comm}); a restored process gets back the ids it had: end that process and restore again");
            }
        }

        return null;
    }

    /// <summary>
    /// A session is only entered by being born in it (or by making it, setsid): a process of a session led by a
    /// process of the tree other than itself must have its parent in that session too, and a process of the
    /// coordinator's session (0) a parent in it. (The dump refuses the same, <see cref="TreeScanner"/>.)
    /// </summary>
    public static string? SessionRefusal(ProcessImage p, IReadOnlyDictionary<int, ProcessImage> tree)
    {
        if (p.Sid == p.Pid)
        {
            return null; // it makes its session itself (setsid)
        }

        int parentSid = p.Ppid == 0 ? 0 : tree.TryGetValue(p.Ppid, out ProcessImage? parent) ? parent.Sid : -1;
        if (parentSid != p.Sid)
        {
            return string.Create(CultureInfo.InvariantCulture,
                $"pid {p.Pid} is in {(p.Sid == 0 ? "scoord's session" : "session " + p.Sid)} but its parent {p.Ppid} is not (a process cannot be put into a session it was not born in)");
        }

        return null;
    }
}
