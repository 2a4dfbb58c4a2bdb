namespace Scoord.Journal.Memory;

/// <summary>
/// A file an image refers to instead of copying it (a mapped library, the executable, an open file): its
/// path and what it was at the checkpoint, so that a restore can tell whether it is still the same file.
/// </summary>
public sealed class FileRef
{
    /// <summary>Absolute path (bytes, as the kernel shows it).</summary>
    public byte[] Path = [];
    public ulong Dev;
    public ulong Ino;
    public long Size;
    public long MtimeNs;
}
