namespace Scoord.Journal.Memory;

/// <summary>One descriptor of a process: its number, close-on-exec, and the description (<see cref="MemoryImage.Objects"/>) it refers to.</summary>
public sealed class FdImage
{
    public int Fd;
    public bool CloseOnExec;
    public int Object;
}
