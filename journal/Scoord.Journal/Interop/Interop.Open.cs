using System.Runtime.InteropServices;

namespace Scoord.Journal;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(LibraryName, EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        internal static partial int open(string pathname, int flags, int mode);
    }
}
