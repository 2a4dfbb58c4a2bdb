using Scoord.Interceptors.Syscalls;

namespace Scoord.Interceptors.Decoding.Handlers;

/// <summary>symlink: path = the link created; path2 = its target text, as written (not resolved).</summary>
internal static class SymlinkDecoder
{
    public static Verdict Decode<TTracee>(DecodeContext ctx, ref TTracee tracee, in SyscallEntry e, scoped ReadOnlySpan<ulong> a, ref DecodedCall call)
        where TTracee : struct, ITracee
    {
        Verdict v = PathResolver.Resolve(ctx, ref tracee, SyscallDecoder.DirFd(e.DirFdArg, a), a[e.PathArg], follow: false, content: false,
            second: false, e.RemovesName, ref call);
        int n = TraceeMemory.ReadCString(tracee, a[e.Path2Arg], ctx.Path2);
        call.Path2.Display = ctx.Path2.AsSpan(0, n < 0 ? 0 : n);
        return v;
    }
}
