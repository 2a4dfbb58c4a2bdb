using Scoord.Journal.Memory;

namespace Scoord.Coordinator.Memory;

/// <summary>The first phase of a dump: every process scanned from /proc, the open file descriptions of the tree, its pipes and shared memory.</summary>
internal sealed class TreeScan
{
    public List<ScannedProcess> Processes = [];
    public List<FileObject> Objects = [];
    public List<PipeImage> Pipes = [];
    public List<SharedMemoryObject> SharedMemory = [];
    public List<SharedSource> SharedSources = [];
}
