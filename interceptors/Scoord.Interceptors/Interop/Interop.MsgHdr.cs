using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    /// <summary>struct msghdr (x86_64).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct MsgHdr
    {
        public void* msg_name;
        public uint msg_namelen;
        public IoVec* msg_iov;
        public nuint msg_iovlen;
        public void* msg_control;
        public nuint msg_controllen;
        public int msg_flags;
    }
}
