namespace Scoord.Journal.Memory;

/// <summary>A process of an image (the MEMORY_IMAGE record lists them): where its pages come from.</summary>
public sealed class ProcessRef
{
    public int Pid;
    /// <summary>The checkpoint whose image holds the pages this one does not list (0: the image is full).</summary>
    public int BaseCheckpoint;
    public PageTracker Tracker;
    /// <summary>Pages of content (private pages that are not the file's, anonymous pages) the process had.</summary>
    public long ContentPages;
    /// <summary>Of those, the pages this image lists with their hash (all of them in a full image).</summary>
    public long ListedPages;
}
