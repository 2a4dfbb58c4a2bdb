using Scoord.Coordinator.Tracing;
using Scoord.Journal.Memory;

namespace Scoord.Coordinator.Memory;

/// <summary>What the first phase of a dump learnt about one process from /proc, before anything is injected.</summary>
internal sealed class ScannedProcess
{
    public required TracedProcess Process;
    public required string Comm;
    public required ProcessImage Image;
    public List<Tracee> Threads = [];
    public List<MappedArea> Areas = [];
    /// <summary>Shared anonymous mappings: (area, object id).</summary>
    public List<(MappedArea Area, int Object)> SharedAreas = [];
    public int Pid => Process.Tgid;
}
