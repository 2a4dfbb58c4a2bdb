namespace Scoord.Journal.Memory;

/// <summary>What an open file description is, as a restore recreates it. Part of the format: never renumber.</summary>
public enum FileObjectKind : byte
{
    /// <summary>A regular file or directory, opened again by path at its offset.</summary>
    Path = 1,
    /// <summary>One end of a pipe of the tree (<see cref="FileObject.Pipe"/>), or a FIFO by path.</summary>
    Pipe = 2,
    /// <summary>A character device that has no state: /dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom, a tty by path.</summary>
    Device = 3,
    /// <summary>The coordinator's own stdin/stdout/stderr (the caller's terminal, pipe or file): the restoring scoord's fd <see cref="FileObject.StdioFd"/>.</summary>
    Stdio = 4,
}

/// <summary>
/// One open file description of the tree. Processes that share a description (fork, dup) share one
/// object, so offsets and status flags stay shared after a restore.
/// </summary>
public sealed class FileObject
{
    public int Id;
    public FileObjectKind Kind;
    /// <summary>open(2) flags as in /proc/PID/fdinfo (O_CLOEXEC is per fd, not here).</summary>
    public int Flags;
    public long Offset;
    /// <summary>Path, FIFO or device: the file (Path and Device: what is reopened).</summary>
    public FileRef? File;
    /// <summary>Pipe: the id of the pipe in <see cref="MemoryImage.Pipes"/>; 0 for a FIFO opened by path.</summary>
    public int Pipe;
    /// <summary>Stdio: which of the coordinator's fds 0-2.</summary>
    public int StdioFd;
}
