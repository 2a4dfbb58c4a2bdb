using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct IoVec
    {
        public void* iov_base;
        public nuint iov_len;
    }
}
