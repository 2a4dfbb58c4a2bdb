namespace Scoord.Coordinator.Memory;

/// <summary>Where the content of a shared anonymous memory object is read: a process mapping it, through /proc/PID/map_files.</summary>
internal sealed record SharedSource(int Id, int Pid, ulong Start, ulong End, ulong Offset, ulong Size);
