using Scoord.Interceptors.Syscalls;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Interceptors.Decoding.Handlers;

/// <summary>bind: journaled only for an AF_UNIX address with a path (it creates the socket file).</summary>
internal static class BindDecoder
{
    private const int AddrArg = 1;
    private const int AddrLenArg = 2;

    public static Verdict Decode<TTracee>(DecodeContext ctx, ref TTracee tracee, in SyscallEntry e, scoped ReadOnlySpan<ulong> a, ref DecodedCall call)
        where TTracee : struct, ITracee
    {
        int len = (int)Math.Min(a[AddrLenArg], 110UL);
        Span<byte> sa = stackalloc byte[112];
        if (len < 3 || !TraceeMemory.Read(tracee, a[AddrArg], sa[..len]))
        {
            return Verdict.Pass;
        }

        int pathOffset = TraceeMemory.SockaddrUnPathOffset(sa[..len]);
        if (pathOffset < 0)
        {
            return Verdict.Pass; // not AF_UNIX, or an abstract address: no file
        }

        call.Fd = (int)a[e.FdArg];
        return PathResolver.Resolve(ctx, ref tracee, AT_FDCWD, a[AddrArg] + (ulong)pathOffset, follow: false, content: false,
            second: false, e.RemovesName, ref call);
    }
}
