using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    /// <summary>struct cmsghdr (x86_64): the data follows, aligned to 8 bytes.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct CMsgHdr
    {
        public nuint cmsg_len;
        public int cmsg_level;
        public int cmsg_type;
    }
}
