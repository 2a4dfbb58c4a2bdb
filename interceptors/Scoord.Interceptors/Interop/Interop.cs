using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

/// <summary>
/// P/Invoke surface of scoord, one nested class per native library (dotnet/runtime's shape).
/// C names for C things; every function that sets errno is imported with SetLastError so callers
/// read <see cref="Marshal.GetLastPInvokeError"/> right after the call.
/// </summary>
internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const string Name = "libc";
    }

    /// <summary>errno of the last P/Invoke call as a typed value.</summary>
    internal static Errno LastErrno => (Errno)Marshal.GetLastPInvokeError();
}
