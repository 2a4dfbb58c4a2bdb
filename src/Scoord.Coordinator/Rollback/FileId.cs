namespace Scoord.Coordinator.Rollback;

/// <summary>Identity of a file system object on disk: device and inode number.</summary>
internal readonly record struct FileId(ulong Dev, ulong Ino)
{
    public bool IsKnown => Ino != 0;
}

/// <summary>
/// Identity of an object in the journal's history: device, inode and a generation that counts the
/// times the inode number was given to a new object after the checkpoint (inode numbers are reused as
/// soon as a file is deleted: `rm k; echo > n` often gives n the inode k had).
/// </summary>
internal readonly record struct ObjKey(ulong Dev, ulong Ino, int Gen)
{
    public bool IsKnown => Ino != 0;

    public FileId Disk => new(Dev, Ino);
}
