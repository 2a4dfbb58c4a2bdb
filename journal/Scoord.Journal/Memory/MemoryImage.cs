namespace Scoord.Journal.Memory;

/// <summary>
/// The memory half of a checkpoint (MEMORY_IMAGE record, docs/journal-format.md "Memory images"): what the
/// whole application group held in the barrier, apart from each process's own image and its pages.
/// </summary>
public sealed class MemoryImage
{
    public int CheckpointId;
    public long TimeNs;
    /// <summary>How long the dump kept the barrier up (ns).</summary>
    public long DumpNs;
    /// <summary>The process whose exit status a restored run returns (the program `scoord run` started); 0 if it had exited.</summary>
    public int MainPid;
    /// <summary>XCR0 of the machine (features in the XSAVE images) and the size of one XSAVE image.</summary>
    public ulong Xcr0;
    public uint XsaveSize;
    /// <summary>SHA-256 of the kernel's [vdso] bytes: a restore needs the same kernel.</summary>
    public byte[] VdsoHash = [];
    public List<SpecialArea> VdsoLayout = [];
    public List<ProcessRef> Processes = [];
    public List<FileObject> Objects = [];
    public List<PipeImage> Pipes = [];
    public List<SharedMemoryObject> SharedMemory = [];
    /// <summary>Page bytes this image added to the journal (content not stored before).</summary>
    public long NewPageBytes;
    /// <summary>Bytes of the image's own records (processes, page maps, this one).</summary>
    public long RecordBytes;
}
