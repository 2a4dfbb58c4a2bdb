using System.Runtime.InteropServices;

namespace Scoord.Journal;

/// <summary>The few libc calls the journal needs (the lock file). C names for C things.</summary>
internal static partial class Interop
{
    internal static partial class Libc
    {
        private const string LibraryName = "libc";

        internal const int O_RDONLY = 0x0;
        internal const int O_RDWR = 0x2;
        internal const int O_CREAT = 0x40;
        internal const int O_CLOEXEC = 0x80000;

        internal const int LOCK_SH = 1;
        internal const int LOCK_EX = 2;
        internal const int LOCK_NB = 4;
        internal const int LOCK_UN = 8;

        internal const int EINTR = 4;
        internal const int ENOENT = 2;
        internal const int EWOULDBLOCK = 11;
    }
}
