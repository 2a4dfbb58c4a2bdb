using Scoord.Interceptors.Syscalls;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Interceptors.Decoding.Handlers;

/// <summary>open, openat, creat: a path, open flags (creat implies its own) and a mode.</summary>
internal static class OpenDecoder
{
    public static Verdict Decode<TTracee>(DecodeContext ctx, ref TTracee tracee, in SyscallEntry e, scoped ReadOnlySpan<ulong> a, ref DecodedCall call)
        where TTracee : struct, ITracee
    {
        if (e.ImpliedFlags != 0)
        {
            call.OpFlags = e.ImpliedFlags;
        }

        // O_CREAT|O_EXCL never follows a final symlink: it fails on one (EEXIST).
        bool follow = (call.OpFlags & O_NOFOLLOW) == 0 && (call.OpFlags & (O_CREAT | O_EXCL)) != (O_CREAT | O_EXCL);
        return PathResolver.Resolve(ctx, ref tracee, SyscallDecoder.DirFd(e.DirFdArg, a), a[e.PathArg], follow, e.Content,
            second: false, e.RemovesName, ref call);
    }
}
