using Scoord.Interceptors.Syscalls;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Interceptors.Decoding.Handlers;

/// <summary>openat2: flags and mode live in struct open_how (which is why a read-only openat2 stops at all).</summary>
internal static class Openat2Decoder
{
    private const ulong WriteFlags = O_WRONLY | O_RDWR | O_CREAT | O_TRUNC;
    private const int HowArg = 2;

    public static Verdict Decode<TTracee>(DecodeContext ctx, ref TTracee tracee, in SyscallEntry e, scoped ReadOnlySpan<ulong> a, ref DecodedCall call)
        where TTracee : struct, ITracee
    {
        Span<byte> how = stackalloc byte[16];
        if (TraceeMemory.Read(tracee, a[HowArg], how) && TraceeMemory.TryParseOpenHow(how, out ulong flags, out ulong mode))
        {
            call.OpFlags = flags;
            call.Mode = (uint)mode;
            if ((flags & WriteFlags) == 0)
            {
                return Verdict.Pass; // a read-only openat2
            }
        }

        bool follow = (call.OpFlags & O_NOFOLLOW) == 0;
        return PathResolver.Resolve(ctx, ref tracee, (int)a[e.DirFdArg], a[e.PathArg], follow, e.Content,
            second: false, e.RemovesName, ref call);
    }
}
