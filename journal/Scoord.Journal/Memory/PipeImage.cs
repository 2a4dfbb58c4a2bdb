namespace Scoord.Journal.Memory;

/// <summary>A pipe between processes of the tree: its capacity and the bytes written to it and not yet read.</summary>
public sealed class PipeImage
{
    public int Id;
    public int Capacity;
    public byte[] Unread = [];
    /// <summary>A FIFO on the filesystem (opened by this path again), or null for an anonymous pipe.</summary>
    public byte[]? FifoPath;
}
