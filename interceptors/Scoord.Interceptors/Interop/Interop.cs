using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

/// <summary>
/// The one P/Invoke surface of scoord (dotnet/runtime's shape): one partial class, a nested class per
/// native library, one file per imported function (Interop.Open.cs, Interop.Ptrace.cs, ...), constants
/// beside the function that takes them, kernel structs in files of their own. C names for C things.
/// Every function that sets errno is imported with SetLastError, so callers read
/// <see cref="LastErrno"/> right after the call. The journal, the coordinator and the CLI use it too.
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
