namespace Scoord.Interceptors.Decoding;

/// <summary>A stopped tracee's memory through process_vm_readv.</summary>
internal readonly unsafe struct ProcessVmMemory(int tid) : IRemoteMemory
{
    public nint Read(ulong address, Span<byte> dest)
    {
        fixed (byte* d = dest)
        {
            Interop.IoVec local = new() { iov_base = d, iov_len = (nuint)dest.Length };
            Interop.IoVec remote = new() { iov_base = (void*)address, iov_len = (nuint)dest.Length };
            return Interop.Libc.process_vm_readv(tid, &local, 1, &remote, 1, 0);
        }
    }
}
