using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
    /// <summary>struct user_regs_struct on x86_64 (27 registers, 216 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct UserRegs
    {
        public ulong r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8;
        public ulong rax, rcx, rdx, rsi, rdi, orig_rax, rip, cs, eflags, rsp, ss;
        public ulong fs_base, gs_base, ds, es, fs, gs;
    }
}
