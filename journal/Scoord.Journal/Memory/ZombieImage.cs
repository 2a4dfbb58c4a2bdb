namespace Scoord.Journal.Memory;

/// <summary>A child that had exited and whose parent had not reaped it yet: its pid and wait status.</summary>
public sealed class ZombieImage
{
    public int Pid;
    /// <summary>The status waitpid will give (exit code &lt;&lt; 8, or the terminating signal).</summary>
    public int Status;
}
