using System.Runtime.InteropServices;

namespace Scoord.Interceptors;

internal static partial class Interop
{
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
}
