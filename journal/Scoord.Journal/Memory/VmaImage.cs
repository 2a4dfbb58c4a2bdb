namespace Scoord.Journal.Memory;

/// <summary>What a mapping is. Part of the format: never renumber.</summary>
public enum VmaKind : byte
{
    /// <summary>Private anonymous memory (the heap and stacks included): every page of content is in the image.</summary>
    Anonymous = 1,
    /// <summary>A private mapping of a file: its pages are the file's unless written (those are in the image).</summary>
    FilePrivate = 2,
    /// <summary>A shared mapping of a file: the file is the content (the journal rolls it back).</summary>
    FileShared = 3,
    /// <summary>Shared anonymous memory: <see cref="VmaImage.SharedId"/> names the object holding the pages.</summary>
    SharedAnonymous = 4,
    /// <summary>The kernel's [vdso], [vvar], [vvar_vclock]: put back where they were, never copied.</summary>
    Special = 5,
}

/// <summary>One mapping (/proc/PID/smaps).</summary>
public sealed class VmaImage
{
    public const int ProtRead = 1, ProtWrite = 2, ProtExec = 4;

    // VmFlags a restore applies again (the bits of Flags).
    public const uint GrowsDown = 1, DontFork = 2, WipeOnFork = 4, DontDump = 8, HugePage = 16, NoHugePage = 32, Mergeable = 64, Locked = 128, Sealed = 256, MayWriteShared = 512;

    public ulong Start;
    public ulong End;
    public VmaKind Kind;
    public int Prot;
    public uint Flags;
    /// <summary>Offset in the file (file mappings), in the shared object (shared anonymous memory).</summary>
    public ulong Offset;
    public FileRef? File;
    public int SharedId;
    /// <summary>[heap], [stack], [vdso], [vvar]... as /proc/PID/maps names them; empty otherwise.</summary>
    public string Name = "";
}
