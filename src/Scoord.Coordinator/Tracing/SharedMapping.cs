namespace Scoord.Coordinator.Tracing;

/// <summary>A writable shared mapping of a file in a traced process (see <see cref="SharedMappings"/>).</summary>
internal sealed class SharedMapping
{
    public ulong Address;
    public long Length;
    public long FileOffset;
    public ulong Dev;
    public ulong Ino;
    public byte[] Path = [];
}
