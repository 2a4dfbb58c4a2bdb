namespace Scoord.Interceptors.Decoding;

/// <summary>What kind of object an operation touches, as seen before it ran.</summary>
public enum ObjectKind : byte
{
    Unknown = 0,
    Absent = 1,
    Regular = 2,
    Directory = 3,
    Symlink = 4,
    Fifo = 5,
    Socket = 6,
    CharDevice = 7,
    BlockDevice = 8,
}
