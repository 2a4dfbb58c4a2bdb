using Scoord.Interceptors.Decoding.Handlers;
using Scoord.Interceptors.Syscalls;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Interceptors.Decoding;

/// <summary>
/// Decodes a stopped syscall by table: the row gives the argument positions and the decode kind, and
/// the kind picks one static handler (Handlers/). What comes out is a <see cref="DecodedCall"/>; nothing
/// is kept between calls but the context's caches and buffers. Allocates nothing.
/// </summary>
internal static class SyscallDecoder
{
    /// <param name="a">The six syscall arguments, as the registers held them.</param>
    public static DecodedCall Decode<TTracee>(DecodeContext ctx, scoped ref TTracee tracee, in SyscallEntry e, scoped ReadOnlySpan<ulong> a)
        where TTracee : struct, ITracee
    {
        DecodedCall call = DecodedCall.For(e);
        if (e.FlagsArg >= 0)
        {
            call.OpFlags = a[e.FlagsArg];
        }

        if (e.ModeArg >= 0)
        {
            call.Mode = (uint)a[e.ModeArg];
        }

        if (e.OffsetArg >= 0)
        {
            call.Offset = (long)a[e.OffsetArg];
        }

        if (e.LengthArg >= 0)
        {
            call.Length = (long)a[e.LengthArg];
        }

        call.Verdict = e.Decode switch
        {
            DecodeKind.Open => OpenDecoder.Decode(ctx, ref tracee, e, a, ref call),
            DecodeKind.Openat2 => Openat2Decoder.Decode(ctx, ref tracee, e, a, ref call),
            DecodeKind.Path => PathDecoder.Decode(ctx, ref tracee, e, a, ref call),
            DecodeKind.PathOrFd => PathOrFdDecoder.Decode(ctx, ref tracee, e, a, ref call),
            DecodeKind.TwoPaths => TwoPathsDecoder.Decode(ctx, ref tracee, e, a, ref call),
            DecodeKind.Symlink => SymlinkDecoder.Decode(ctx, ref tracee, e, a, ref call),
            DecodeKind.Fd or DecodeKind.Mmap or DecodeKind.Ioctl => FdDecoder.Decode(ctx, ref tracee, e, a, ref call),
            DecodeKind.Bind => BindDecoder.Decode(ctx, ref tracee, e, a, ref call),
            _ => Verdict.Pass,
        };

        call.PathUnreadable = call.Path.Unreadable;
        call.FreesInode = e.RemovesName;
        call.AllocatesInode = e.CreatesName
            || (e.Decode is DecodeKind.Open or DecodeKind.Openat2 && (call.OpFlags & O_CREAT) != 0 && call.Kind == ObjectKind.Absent);
        return call;
    }

    /// <summary>The dirfd argument at <paramref name="arg"/>, or AT_FDCWD for calls without one.</summary>
    internal static int DirFd(sbyte arg, scoped ReadOnlySpan<ulong> a) => arg >= 0 ? (int)a[arg] : AT_FDCWD;

    /// <summary>chown family: the owner and group asked for.</summary>
    internal static void DecodeOwner(in SyscallEntry e, scoped ReadOnlySpan<ulong> a, ref DecodedCall call)
    {
        if (e.UidArg >= 0)
        {
            call.Uid = (uint)a[e.UidArg];
            call.Gid = (uint)a[e.GidArg];
        }
    }
}
