using Scoord.Journal.Memory;

namespace Scoord.Coordinator.Memory;

/// <summary>One process of a memory image to restore: its record, the hash of every content page, its children in the image.</summary>
internal sealed class ProcessSource(ProcessImage image, SortedDictionary<ulong, byte[]> pages)
{
    public ProcessImage Image { get; } = image;

    /// <summary>Address of every content page → its hash (an incremental image resolved through its bases).</summary>
    public SortedDictionary<ulong, byte[]> Pages { get; } = pages;

    /// <summary>The processes of the image whose parent this one is, by pid.</summary>
    public List<ProcessSource> Children { get; } = [];

    public int Pid => Image.Pid;
}
