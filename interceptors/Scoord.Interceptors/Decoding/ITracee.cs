namespace Scoord.Interceptors.Decoding;

/// <summary>
/// What the decoder needs of a stopped tracee: its memory, copies of its fds, and its tid (the decoder
/// resolves relative paths through /proc/TID/cwd and /proc/TID/fd/N). The tracer's implementation reads
/// with process_vm_readv and copies fds with pidfd_getfd; a test passes a model of memory and its own
/// fds, so a decoder handler runs without ptrace. Generic methods over a struct implementation compile
/// to direct calls (no boxing, no allocation per stop).
/// </summary>
internal interface ITracee : IRemoteMemory
{
    int Tid { get; }

    /// <summary>A copy of the tracee's fd <paramref name="fd"/> in this process (close-on-exec), or -1 when it is not open.</summary>
    int DuplicateFd(int fd);
}
