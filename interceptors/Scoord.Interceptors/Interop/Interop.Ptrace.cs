using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const int PTRACE_CONT = 7;
        internal const int PTRACE_KILL = 8;
        internal const int PTRACE_GETREGS = 12;
        internal const int PTRACE_SETREGS = 13;
        internal const int PTRACE_DETACH = 17;
        internal const int PTRACE_SYSCALL = 24;
        internal const int PTRACE_SETOPTIONS = 0x4200;
        internal const int PTRACE_GETEVENTMSG = 0x4201;
        internal const int PTRACE_SEIZE = 0x4206;
        internal const int PTRACE_INTERRUPT = 0x4207;
        internal const int PTRACE_LISTEN = 0x4208;
        internal const int PTRACE_GET_SYSCALL_INFO = 0x420e;
        // Memory checkpoints (--memory scoord): thread state beyond the general registers.
        internal const int PTRACE_GETSIGINFO = 0x4202;
        internal const int PTRACE_SETSIGINFO = 0x4203;
        internal const int PTRACE_GETREGSET = 0x4204;
        internal const int PTRACE_SETREGSET = 0x4205;
        internal const int PTRACE_PEEKSIGINFO = 0x4209;
        internal const int PTRACE_GETSIGMASK = 0x420a;
        internal const int PTRACE_SETSIGMASK = 0x420b;
        internal const int PTRACE_GET_RSEQ_CONFIGURATION = 0x420f;
        internal const int PTRACE_PEEKSIGINFO_SHARED = 1;
        /// <summary>Regset of PTRACE_GETREGSET: the XSAVE area (x87, SSE, AVX... state).</summary>
        internal const int NT_X86_XSTATE = 0x202;

        internal const int PTRACE_O_TRACESYSGOOD = 0x01;
        internal const int PTRACE_O_TRACEFORK = 0x02;
        internal const int PTRACE_O_TRACEVFORK = 0x04;
        internal const int PTRACE_O_TRACECLONE = 0x08;
        internal const int PTRACE_O_TRACEEXEC = 0x10;
        internal const int PTRACE_O_TRACEVFORKDONE = 0x20;
        internal const int PTRACE_O_TRACEEXIT = 0x40;
        internal const int PTRACE_O_TRACESECCOMP = 0x80;
        internal const int PTRACE_O_EXITKILL = 0x100000;

        internal const int PTRACE_EVENT_FORK = 1;
        internal const int PTRACE_EVENT_VFORK = 2;
        internal const int PTRACE_EVENT_CLONE = 3;
        internal const int PTRACE_EVENT_EXEC = 4;
        internal const int PTRACE_EVENT_VFORK_DONE = 5;
        internal const int PTRACE_EVENT_EXIT = 6;
        internal const int PTRACE_EVENT_SECCOMP = 7;
        internal const int PTRACE_EVENT_STOP = 128;

        internal const byte PTRACE_SYSCALL_INFO_NONE = 0;
        internal const byte PTRACE_SYSCALL_INFO_ENTRY = 1;
        internal const byte PTRACE_SYSCALL_INFO_EXIT = 2;
        internal const byte PTRACE_SYSCALL_INFO_SECCOMP = 3;

        internal const uint AUDIT_ARCH_X86_64 = 0xC000003E;
        internal const uint AUDIT_ARCH_I386 = 0x40000003;

        [LibraryImport(Name, SetLastError = true)]
        internal static partial long ptrace(long request, int pid, nint addr, nint data);
    }
}
