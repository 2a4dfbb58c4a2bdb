using Scoord.Interceptors.Syscalls;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Interceptors.Decoding.Handlers;

/// <summary>utimensat: a NULL path makes it act on the dirfd itself (futimens).</summary>
internal static class PathOrFdDecoder
{
    public static Verdict Decode<TTracee>(DecodeContext ctx, ref TTracee tracee, in SyscallEntry e, scoped ReadOnlySpan<ulong> a, ref DecodedCall call)
        where TTracee : struct, ITracee
    {
        int dirfd = (int)a[e.DirFdArg];
        if (a[e.PathArg] == 0)
        {
            return FdResolver.Resolve(ctx, ref tracee, dirfd, content: false, e.FdStatusFlags, ref call);
        }

        bool follow = ((int)a[e.FlagsArg] & AT_SYMLINK_NOFOLLOW) == 0;
        return PathResolver.Resolve(ctx, ref tracee, dirfd, a[e.PathArg], follow, content: false,
            second: false, e.RemovesName, ref call);
    }
}
