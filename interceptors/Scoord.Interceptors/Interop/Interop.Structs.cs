using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    /// <summary>struct stat on x86_64 (144 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct Stat
    {
        public ulong st_dev;
        public ulong st_ino;
        public ulong st_nlink;
        public uint st_mode;
        public uint st_uid;
        public uint st_gid;
        public int __pad0;
        public ulong st_rdev;
        public long st_size;
        public long st_blksize;
        public long st_blocks;
        public long st_atime_sec;
        public long st_atime_nsec;
        public long st_mtime_sec;
        public long st_mtime_nsec;
        public long st_ctime_sec;
        public long st_ctime_nsec;
        public long __reserved0;
        public long __reserved1;
        public long __reserved2;
    }

    /// <summary>struct statfs on x86_64 (120 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct StatFs
    {
        public long f_type;
        public long f_bsize;
        public ulong f_blocks;
        public ulong f_bfree;
        public ulong f_bavail;
        public ulong f_files;
        public ulong f_ffree;
        public ulong f_fsid;
        public long f_namelen;
        public long f_frsize;
        public long f_flags;
        public long f_spare0;
        public long f_spare1;
        public long f_spare2;
        public long f_spare3;
    }

    /// <summary>struct user_regs_struct on x86_64 (27 registers, 216 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct UserRegs
    {
        public ulong r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8;
        public ulong rax, rcx, rdx, rsi, rdi, orig_rax, rip, cs, eflags, rsp, ss;
        public ulong fs_base, gs_base, ds, es, fs, gs;
    }

    /// <summary>struct ptrace_syscall_info (linux/ptrace.h), the seccomp variant of the union (88 bytes).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 88)]
    internal unsafe struct PtraceSyscallInfo
    {
        [FieldOffset(0)] public byte op;
        [FieldOffset(4)] public uint arch;
        [FieldOffset(8)] public ulong instruction_pointer;
        [FieldOffset(16)] public ulong stack_pointer;
        // entry and seccomp: nr + args[6]; exit: rval + is_error.
        [FieldOffset(24)] public ulong nr;
        [FieldOffset(24)] public long rval;
        [FieldOffset(32)] public byte is_error;
        [FieldOffset(32)] public fixed ulong args[6];
        [FieldOffset(80)] public uint ret_data;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct IoVec
    {
        public void* iov_base;
        public nuint iov_len;
    }

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
