using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const int WNOHANG = 1;
        internal const int __WALL = 0x40000000;

        internal const int SIGHUP = 1, SIGINT = 2, SIGQUIT = 3, SIGKILL = 9, SIGPIPE = 13, SIGTERM = 15;
        internal const int SIGCHLD = 17, SIGCONT = 18, SIGSTOP = 19, SIGTSTP = 20, SIGTTIN = 21, SIGTTOU = 22, SIGTRAP = 5;

        internal const int PR_SET_CHILD_SUBREAPER = 36;

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial int waitpid(int pid, int* status, int options);

        [LibraryImport(Name, SetLastError = true)]
        internal static partial int kill(int pid, int sig);

        [LibraryImport(Name, SetLastError = true)]
        internal static partial int prctl(int option, ulong arg2, ulong arg3, ulong arg4, ulong arg5);

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial nint process_vm_readv(int pid, IoVec* local, ulong liovcnt, IoVec* remote, ulong riovcnt, ulong flags);

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial nint process_vm_writev(int pid, IoVec* local, ulong liovcnt, IoVec* remote, ulong riovcnt, ulong flags);

        [LibraryImport(Name, SetLastError = true)]
        internal static partial int pidfd_open(int pid, uint flags);

        [LibraryImport(Name, SetLastError = true)]
        internal static partial int pidfd_getfd(int pidfd, int targetfd, uint flags);

        /// <summary>posix_spawn: glibc implements it with clone(CLONE_VM|CLONE_VFORK), safe from a .NET process (fork is not).</summary>
        [LibraryImport(Name, SetLastError = false)]
        internal static unsafe partial int posix_spawn(int* pid, byte* path, void* fileActions, void* attr, byte** argv, byte** envp);

        internal const int PIDFD_THREAD = 0x80; // O_EXCL

        internal static bool WIFEXITED(int s) => (s & 0x7f) == 0;
        internal static int WEXITSTATUS(int s) => (s >> 8) & 0xff;
        internal static bool WIFSIGNALED(int s) => ((sbyte)((s & 0x7f) + 1) >> 1) > 0;
        internal static int WTERMSIG(int s) => s & 0x7f;
        internal static bool WIFSTOPPED(int s) => (s & 0xff) == 0x7f;
        internal static int WSTOPSIG(int s) => (s >> 8) & 0xff;
    }
}
