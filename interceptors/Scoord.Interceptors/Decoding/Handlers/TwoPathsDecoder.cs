using Scoord.Interceptors.Syscalls;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Interceptors.Decoding.Handlers;

/// <summary>rename and link: path = the old name, path2 = the new one. Journaled when either is.</summary>
internal static class TwoPathsDecoder
{
    public static Verdict Decode<TTracee>(DecodeContext ctx, ref TTracee tracee, in SyscallEntry e, scoped ReadOnlySpan<ulong> a, ref DecodedCall call)
        where TTracee : struct, ITracee
    {
        // linkat with AT_SYMLINK_FOLLOW links the target of a final symlink; the new name is never followed.
        bool followOld = e.AtFlags && ((int)call.OpFlags & AT_SYMLINK_FOLLOW) != 0;
        Verdict v1 = PathResolver.Resolve(ctx, ref tracee, SyscallDecoder.DirFd(e.DirFdArg, a), a[e.PathArg], followOld, content: false,
            second: false, e.RemovesName, ref call);
        if (v1 == Verdict.Refuse)
        {
            return v1;
        }

        Verdict v2 = PathResolver.Resolve(ctx, ref tracee, SyscallDecoder.DirFd(e.DirFd2Arg, a), a[e.Path2Arg], follow: false, content: false,
            second: true, e.RemovesName, ref call);
        if (v2 == Verdict.Refuse)
        {
            return v2;
        }

        return v1 == Verdict.Journal || v2 == Verdict.Journal ? Verdict.Journal : Verdict.Pass;
    }
}
