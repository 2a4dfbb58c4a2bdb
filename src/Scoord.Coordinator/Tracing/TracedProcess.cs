namespace Scoord.Coordinator.Tracing;

/// <summary>What the tracer knows about one thread-group (process).</summary>
internal sealed class TracedProcess
{
    public int Tgid;
    public int Ppid;
    /// <summary>The stdio guard filter is installed: fd-mutating syscalls on fds 0-2 stop in this process.</summary>
    public bool StdioGuarded;
    public int Threads;
    /// <summary>Id of the application of the group this process belongs to (1: the one `scoord run` started); inherited at fork.</summary>
    public int App;
    /// <summary>Started by scoord-launch (seized by the tracer, not followed from a traced parent).</summary>
    public bool Launched;
    /// <summary>The fast path's stub page is mapped in the current image (by the preloaded library's start-up).</summary>
    public bool StubMapped;
    /// <summary>Writable shared mappings of files (null until the first); see <see cref="SharedMappings"/>.</summary>
    public List<SharedMapping>? Mappings;
    /// <summary>What the memory checkpoints (--memory scoord) keep about this process between images; reset by exec.</summary>
    public Memory.ProcessTracking? Memory;
}
