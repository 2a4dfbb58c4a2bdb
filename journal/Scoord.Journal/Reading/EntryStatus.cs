namespace Scoord.Journal;

/// <summary>What became of a journaled operation.</summary>
public enum EntryStatus
{
    /// <summary>The kernel performed it (errno 0), or a process event.</summary>
    Completed,
    /// <summary>The kernel returned an error, or scoord refused it.</summary>
    Failed,
    /// <summary>No completion was recorded (scoord died, or the syscall is still in flight).</summary>
    Pending,
}
