namespace Scoord.Interceptors.Seccomp;

/// <summary>Classic BPF opcodes and seccomp constants used by the filter generator.</summary>
internal static class Bpf
{
    public const ushort LdAbsW = 0x20;   // BPF_LD | BPF_W | BPF_ABS
    public const ushort JeqK = 0x15;     // BPF_JMP | BPF_JEQ | BPF_K
    public const ushort JgtK = 0x25;     // BPF_JMP | BPF_JGT | BPF_K
    public const ushort JgeK = 0x35;     // BPF_JMP | BPF_JGE | BPF_K
    public const ushort JsetK = 0x45;    // BPF_JMP | BPF_JSET | BPF_K
    public const ushort Ja = 0x05;       // BPF_JMP | BPF_JA
    public const ushort RetK = 0x06;     // BPF_RET | BPF_K

    public const uint RetAllow = 0x7fff0000;
    public const uint RetTrace = 0x7ff00000;
    public const uint RetErrno = 0x00050000;

    /// <summary>SECCOMP_RET_DATA values: why the filter stopped (read back as ptrace_syscall_info.seccomp.ret_data).</summary>
    public const uint DataNative = 0;
    public const uint DataForeignArch = 1;
    public const uint DataX32 = 2;

    // struct seccomp_data
    public const uint OffNr = 0;
    public const uint OffArch = 4;
    public const uint OffIpLow = 8;
    public const uint OffIpHigh = 12;
    public static uint OffArgLow(int i) => 16u + (8u * (uint)i);
    public static uint OffArgHigh(int i) => 20u + (8u * (uint)i);

    public const uint X32SyscallBit = 0x40000000;
    public const uint MaxInstructions = 4096;
}
