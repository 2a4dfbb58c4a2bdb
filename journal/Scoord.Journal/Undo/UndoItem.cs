namespace Scoord.Journal.Undo;

/// <summary>What an undo item holds. Part of the on-disk format: never renumber.</summary>
public enum UndoKind : byte
{
    /// <summary>The state of a named object before the op (first touch in the epoch, or an object the op removes/replaces).</summary>
    ObjectState = 1,
    /// <summary>Pre-image of a block-aligned byte range of a regular file (or a hole there).</summary>
    Blocks = 2,
    /// <summary>A chunk of the whole content of a file the op removes or replaces (the graveyard copy).</summary>
    Content = 3,
    /// <summary>The state the op left (recorded at the exit stop): what rollback compares with to find outside changes.</summary>
    PostState = 4,
}

/// <summary>Which object of the operation an item describes.</summary>
public enum UndoRole : byte
{
    /// <summary>The object the op changes or creates (path of the intent).</summary>
    Object = 0,
    /// <summary>The directory whose entries change (its times are restored).</summary>
    Parent = 1,
    /// <summary>An object the op removes or replaces: unlink, rmdir, rename over an existing name (path2 of a rename).</summary>
    Target = 2,
    /// <summary>The second name of a rename/link (path2).</summary>
    Second = 3,
}

[Flags]
public enum UndoFlags : ushort
{
    None = 0,
    /// <summary>The object existed (ObjectState, PostState).</summary>
    Existed = 1,
    /// <summary>Blocks: the range was a hole; no data is stored.</summary>
    Hole = 2,
    /// <summary>ObjectState: its whole content follows as Content items of the same seq.</summary>
    HasContent = 4,
}

/// <summary>One decoded undo item (reading side: rollback, diff, prune). Allocation is fine here.</summary>
public sealed class UndoItem
{
    public ulong Seq { get; init; }
    public uint Part { get; init; }
    public UndoKind Kind { get; init; }
    public UndoRole Role { get; init; }
    public UndoFlags Flags { get; init; }
    public ulong Dev { get; init; }
    public ulong Ino { get; init; }
    /// <summary>File size (ObjectState/PostState) or the size before the op (Blocks).</summary>
    public long Size { get; init; }
    /// <summary>Byte offset of Blocks/Content data.</summary>
    public long Offset { get; init; }
    /// <summary>Length of the range a Hole item covers (Data is empty then).</summary>
    public long Length { get; init; }
    public uint Mode { get; init; }
    public uint Uid { get; init; }
    public uint Gid { get; init; }
    public uint Nlink { get; init; }
    public long AtimeNs { get; init; }
    public long MtimeNs { get; init; }
    public long CtimeNs { get; init; }
    public byte[] Path { get; init; } = [];
    /// <summary>Blocks/Content: the bytes; ObjectState of a symlink: its target.</summary>
    public byte[] Data { get; init; } = [];
    public IReadOnlyList<(byte[] Name, byte[] Value)> Xattrs { get; init; } = [];

    public bool Existed => (Flags & UndoFlags.Existed) != 0;
}
