using Scoord.Journal.Memory;

namespace Scoord.Coordinator.Memory;

/// <summary>The page maps of one owner in one image, and what they cost.</summary>
internal sealed class CapturedPages
{
    public SortedDictionary<ulong, PageMapWindow> Windows = new();
    public long ContentPages;
    public long ListedPages;
    public PageTracker Tracker;
}
