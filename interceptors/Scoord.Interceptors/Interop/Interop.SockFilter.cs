using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    /// <summary>struct sock_filter: one classic BPF instruction.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct SockFilter
    {
        public ushort code;
        public byte jt;
        public byte jf;
        public uint k;
    }
}
