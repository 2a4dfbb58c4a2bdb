namespace Scoord.Coordinator.Rollback;

/// <summary>Identity of a file system object: device and inode number.</summary>
internal readonly record struct FileId(ulong Dev, ulong Ino)
{
    public bool IsKnown => Ino != 0;
}
