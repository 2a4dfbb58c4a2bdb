using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

/// <summary>What application groups need: spawning with other stdio, cwd and process group; fds over a unix socket.</summary>
internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>glibc's posix_spawn_file_actions_t is 80 bytes and posix_spawnattr_t 336; these leave room.</summary>
        internal const int SpawnFileActionsSize = 256;
        internal const int SpawnAttrSize = 512;
        internal const short POSIX_SPAWN_SETPGROUP = 0x02;

        internal const int SOL_SOCKET = 1;
        internal const int SCM_RIGHTS = 1;
        internal const int MSG_CMSG_CLOEXEC = 0x40000000;
        internal const int MSG_NOSIGNAL = 0x4000;
        internal const short POLLIN = 0x001;

        [LibraryImport(Name)]
        internal static unsafe partial int posix_spawn_file_actions_init(void* actions);

        [LibraryImport(Name)]
        internal static unsafe partial int posix_spawn_file_actions_destroy(void* actions);

        [LibraryImport(Name)]
        internal static unsafe partial int posix_spawn_file_actions_adddup2(void* actions, int fd, int newfd);

        [LibraryImport(Name)]
        internal static unsafe partial int posix_spawn_file_actions_addchdir_np(void* actions, byte* path);

        [LibraryImport(Name)]
        internal static unsafe partial int posix_spawnattr_init(void* attr);

        [LibraryImport(Name)]
        internal static unsafe partial int posix_spawnattr_destroy(void* attr);

        [LibraryImport(Name)]
        internal static unsafe partial int posix_spawnattr_setflags(void* attr, short flags);

        [LibraryImport(Name)]
        internal static unsafe partial int posix_spawnattr_setpgroup(void* attr, int pgroup);

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial nint sendmsg(int fd, MsgHdr* msg, int flags);

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial nint recvmsg(int fd, MsgHdr* msg, int flags);

        [LibraryImport(Name, SetLastError = true)]
        internal static unsafe partial int poll(PollFd* fds, ulong nfds, int timeout);
    }

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

    /// <summary>struct cmsghdr (x86_64): the data follows, aligned to 8 bytes.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct CMsgHdr
    {
        public nuint cmsg_len;
        public int cmsg_level;
        public int cmsg_type;
    }

    /// <summary>struct pollfd.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct PollFd
    {
        public int fd;
        public short events;
        public short revents;
    }
}
