using Scoord.Interceptors.Syscalls;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Interceptors.Decoding.Handlers;

/// <summary>
/// One path names the object (mkdir, unlink, chmod, chown, truncate, utimes, the xattr calls ...). With
/// AT_EMPTY_PATH in its at-flags the object is the file behind the dirfd.
/// </summary>
internal static class PathDecoder
{
    public static Verdict Decode<TTracee>(DecodeContext ctx, ref TTracee tracee, in SyscallEntry e, scoped ReadOnlySpan<ulong> a, ref DecodedCall call)
        where TTracee : struct, ITracee
    {
        int atFlags = e.AtFlags ? (int)call.OpFlags : 0;
        bool follow = !e.NoFollow && (atFlags & AT_SYMLINK_NOFOLLOW) == 0;
        SyscallDecoder.DecodeOwner(e, a, ref call);
        if ((atFlags & AT_EMPTY_PATH) != 0)
        {
            return FdResolver.Resolve(ctx, ref tracee, (int)a[e.DirFdArg], content: false, e.FdStatusFlags, ref call);
        }

        return PathResolver.Resolve(ctx, ref tracee, SyscallDecoder.DirFd(e.DirFdArg, a), a[e.PathArg], follow, e.Content,
            second: false, e.RemovesName, ref call);
    }
}
