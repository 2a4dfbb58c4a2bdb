using Scoord.Interceptors;

namespace Scoord.Coordinator.Memory;

/// <summary>
/// What the memory checkpoints keep about one process between its images (on <see cref="Tracing.TracedProcess.Memory"/>):
/// its last committed image, the pages that held content then, and the dirty-page tracker's state (scoord's
/// copy of the process's userfaultfd and the ranges registered with it, or the last page hashes). An exec
/// or an exit drops it; a failed checkpoint invalidates it, so the next image is full.
/// </summary>
internal sealed class ProcessTracking : IDisposable
{
    /// <summary>The checkpoint of the last image committed for this process (0: none, the next one is full).</summary>
    public int LastImage;
    /// <summary>The checkpoint being written, whose image becomes the base when it commits.</summary>
    public int PendingImage;
    /// <summary>Content pages (addresses) of the last image, and of the pending one.</summary>
    public HashSet<ulong> Content = [];
    public HashSet<ulong> PendingContent = [];
    /// <summary>ContentHash tracker: the hash of every content page of the last image (and pending).</summary>
    public Dictionary<ulong, Hash256>? Hashes;
    public Dictionary<ulong, Hash256>? PendingHashes;

    /// <summary>scoord's copy of the userfaultfd made in the process (write-protect, async mode), or -1.</summary>
    public int Uffd = -1;
    /// <summary>Ranges registered with <see cref="Uffd"/> for write-protection.</summary>
    public List<(ulong Start, ulong End)> Registered = [];
    /// <summary>The tracker could not be set up for this process (it stays on content hashes).</summary>
    public bool UffdFailed;

    public bool IsRegistered(ulong start, ulong end)
    {
        foreach ((ulong s, ulong e) in Registered)
        {
            if (s <= start && end <= e)
            {
                return true;
            }
        }

        return false;
    }

    public void Commit()
    {
        if (PendingImage == 0)
        {
            return;
        }

        LastImage = PendingImage;
        PendingImage = 0;
        Content = PendingContent;
        PendingContent = [];
        Hashes = PendingHashes;
        PendingHashes = null;
    }

    /// <summary>The image was not committed: what the tracker learnt since the last one is lost, so the next image is full.</summary>
    public void Abandon()
    {
        PendingImage = 0;
        LastImage = 0;
        Content = [];
        PendingContent = [];
        Hashes = null;
        PendingHashes = null;
    }

    public void Dispose()
    {
        if (Uffd >= 0)
        {
            Interop.Libc.close(Uffd);
            Uffd = -1;
        }
    }
}
