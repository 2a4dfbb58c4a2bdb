namespace Scoord.Journal.Memory;

/// <summary>
/// Shared anonymous memory (mmap MAP_SHARED|MAP_ANONYMOUS, inherited across fork): one object however many
/// processes map it; its pages are stored under owner <see cref="ImageKeys.SharedOwner"/>(Id).
/// </summary>
public sealed class SharedMemoryObject
{
    public int Id;
    public ulong Size;
}
