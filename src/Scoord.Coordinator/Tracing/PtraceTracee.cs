using Scoord.Interceptors.Decoding;

namespace Scoord.Coordinator.Tracing;

/// <summary>A tracee stopped under ptrace, as the decoder sees it: process_vm_readv for memory, pidfd_getfd for fds.</summary>
internal readonly struct PtraceTracee(Tracee tracee) : ITracee
{
    public int Tid => tracee.Tid;

    public nint Read(ulong address, Span<byte> dest) => new ProcessVmMemory(tracee.Tid).Read(address, dest);

    public int DuplicateFd(int fd) => tracee.DuplicateFd(fd);
}
