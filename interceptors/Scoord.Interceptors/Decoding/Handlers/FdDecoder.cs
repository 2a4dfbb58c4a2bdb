using Scoord.Interceptors.Syscalls;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Interceptors.Decoding.Handlers;

/// <summary>
/// The object is the file behind an fd: writes, truncation, fallocate, fchmod/fchown, fd xattrs; and the
/// writable shared mmap and file-changing ioctl kinds, which the table routes here too.
/// </summary>
internal static unsafe class FdDecoder
{
    public static Verdict Decode<TTracee>(DecodeContext ctx, ref TTracee tracee, in SyscallEntry e, scoped ReadOnlySpan<ulong> a, ref DecodedCall call)
        where TTracee : struct, ITracee
    {
        SyscallDecoder.DecodeOwner(e, a, ref call);
        if (e.IovecArg >= 0)
        {
            call.Length = TraceeMemory.IovecTotal(tracee, a[e.IovecArg], (long)a[e.IovecArg + 1]);
        }

        Verdict v = FdResolver.Resolve(ctx, ref tracee, (int)a[e.FdArg], e.Content, e.FdStatusFlags, ref call);
        if (v == Verdict.Journal && e.OutOffsetArg >= 0)
        {
            call.OutOffset = OutOffset(ref tracee, a[e.OutOffsetArg], call.DupFd);
        }

        return v;
    }

    /// <summary>Where copy_file_range/splice write: *off_out, or the output fd's offset when it is NULL; 0 when unreadable.</summary>
    private static long OutOffset<TTracee>(ref TTracee tracee, ulong pointer, int dup)
        where TTracee : struct, ITracee
    {
        if (pointer == 0)
        {
            return lseek(dup, 0, SEEK_CUR);
        }

        Span<byte> v = stackalloc byte[8];
        return TraceeMemory.Read(tracee, pointer, v) ? BitConverter.ToInt64(v) : 0;
    }
}
