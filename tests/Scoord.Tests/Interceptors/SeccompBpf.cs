using System.Buffers.Binary;
using Scoord.Interceptors;

namespace Scoord.Tests.Interceptors;

/// <summary>struct seccomp_data as the filter sees it (64 bytes: nr, arch, instruction_pointer, args[6]).</summary>
internal readonly record struct SeccompData(int Nr, uint Arch, ulong InstructionPointer, ulong A0 = 0, ulong A1 = 0, ulong A2 = 0, ulong A3 = 0, ulong A4 = 0, ulong A5 = 0)
{
    public const int Size = 64;

    public static SeccompData X86_64(int nr, params ulong[] args)
    {
        ulong At(int i) => i < args.Length ? args[i] : 0;
        return new SeccompData(nr, Interop.Libc.AUDIT_ARCH_X86_64, 0x401000, At(0), At(1), At(2), At(3), At(4), At(5));
    }

    public ulong Arg(int i) => i switch
    {
        0 => A0, 1 => A1, 2 => A2, 3 => A3, 4 => A4, 5 => A5,
        _ => throw new ArgumentOutOfRangeException(nameof(i)),
    };

    /// <summary>The little-endian bytes the kernel hands the filter on x86_64.</summary>
    public byte[] ToBytes()
    {
        byte[] b = new byte[Size];
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(0), Nr);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), Arch);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(8), InstructionPointer);
        for (int i = 0; i < 6; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(16 + (8 * i)), Arg(i));
        }

        return b;
    }
}

/// <summary>
/// A classic-BPF interpreter for the subset a seccomp filter from scoord may use: LD W ABS, JEQ/JGT/JGE/JSET K, JA, RET K.
/// <see cref="Validate"/> does what the kernel's checker does for that subset (and a bit more): unknown opcodes,
/// misaligned or out-of-range loads, jumps out of the program and paths that fall off the end are all rejected.
/// </summary>
internal static class SeccompBpf
{
    // Opcode values from linux/filter.h (independent of Scoord's Bpf class on purpose).
    public const ushort LD_W_ABS = 0x00 | 0x00 | 0x20;
    public const ushort JMP_JA = 0x05 | 0x00;
    public const ushort JMP_JEQ_K = 0x05 | 0x10;
    public const ushort JMP_JGT_K = 0x05 | 0x20;
    public const ushort JMP_JGE_K = 0x05 | 0x30;
    public const ushort JMP_JSET_K = 0x05 | 0x40;
    public const ushort RET_K = 0x06;
    public const int MaxInsns = 4096;

    public const uint RET_ALLOW = 0x7fff0000;
    public const uint RET_TRACE = 0x7ff00000;
    public const uint ACTION_FULL = 0xffff0000;
    public const uint DATA = 0x0000ffff;

    /// <summary>Returns the problems found (empty: the program is acceptable).</summary>
    public static List<string> Validate(Interop.SockFilter[] prog, out int unreachable)
    {
        var errors = new List<string>();
        unreachable = 0;
        if (prog.Length is 0 or > MaxInsns)
        {
            errors.Add($"program length {prog.Length} is outside 1..{MaxInsns}");
            return errors;
        }

        for (int pc = 0; pc < prog.Length; pc++)
        {
            Interop.SockFilter i = prog[pc];
            switch (i.code)
            {
                case LD_W_ABS:
                    if (i.k % 4 != 0 || i.k > SeccompData.Size - 4)
                    {
                        errors.Add($"pc {pc}: ld [{i.k}] is not an aligned 32-bit load inside struct seccomp_data");
                    }

                    break;
                case JMP_JA:
                    if ((long)pc + 1 + i.k >= prog.Length)
                    {
                        errors.Add($"pc {pc}: ja +{i.k} leaves the program (length {prog.Length})");
                    }

                    break;
                case JMP_JEQ_K or JMP_JGT_K or JMP_JGE_K or JMP_JSET_K:
                    if (pc + 1 + i.jt >= prog.Length || pc + 1 + i.jf >= prog.Length)
                    {
                        errors.Add($"pc {pc}: jt {i.jt} / jf {i.jf} leaves the program (length {prog.Length})");
                    }

                    break;
                case RET_K:
                    break;
                default:
                    errors.Add($"pc {pc}: opcode 0x{i.code:x} is outside the accepted subset");
                    break;
            }
        }

        if (prog[^1].code != RET_K)
        {
            errors.Add("the last instruction is not a RET");
        }

        if (errors.Count != 0)
        {
            return errors;
        }

        // Every path ends in RET: all jumps go forward, so a walk over reachable instructions checks it.
        bool[] reached = new bool[prog.Length];
        reached[0] = true;
        for (int pc = 0; pc < prog.Length; pc++)
        {
            if (!reached[pc])
            {
                unreachable++;
                continue;
            }

            Interop.SockFilter i = prog[pc];
            foreach (int next in Successors(pc, i))
            {
                if (next >= prog.Length)
                {
                    errors.Add($"pc {pc}: falls off the end of the program");
                }
                else
                {
                    reached[next] = true;
                }
            }
        }

        return errors;
    }

    private static IEnumerable<int> Successors(int pc, Interop.SockFilter i) => i.code switch
    {
        RET_K => [],
        JMP_JA => [pc + 1 + (int)i.k],
        JMP_JEQ_K or JMP_JGT_K or JMP_JGE_K or JMP_JSET_K => [pc + 1 + i.jt, pc + 1 + i.jf],
        _ => [pc + 1],
    };

    /// <summary>Runs a validated program; <paramref name="steps"/> counts executed instructions including the RET.</summary>
    public static uint Run(Interop.SockFilter[] prog, SeccompData data, out int steps)
    {
        byte[] mem = data.ToBytes();
        uint a = 0;
        int pc = 0;
        steps = 0;
        while (true)
        {
            if (pc < 0 || pc >= prog.Length)
            {
                throw new InvalidOperationException($"ran off the program at pc {pc} after {steps} steps");
            }

            if (++steps > prog.Length)
            {
                throw new InvalidOperationException("more steps than instructions: a backward jump?");
            }

            Interop.SockFilter i = prog[pc];
            switch (i.code)
            {
                case LD_W_ABS:
                    if (i.k % 4 != 0 || i.k > SeccompData.Size - 4)
                    {
                        throw new InvalidOperationException($"pc {pc}: bad load offset {i.k}");
                    }

                    a = BinaryPrimitives.ReadUInt32LittleEndian(mem.AsSpan((int)i.k));
                    pc++;
                    break;
                case JMP_JA:
                    pc += 1 + (int)i.k;
                    break;
                case JMP_JEQ_K:
                    pc += 1 + (a == i.k ? i.jt : i.jf);
                    break;
                case JMP_JGT_K:
                    pc += 1 + (a > i.k ? i.jt : i.jf);
                    break;
                case JMP_JGE_K:
                    pc += 1 + (a >= i.k ? i.jt : i.jf);
                    break;
                case JMP_JSET_K:
                    pc += 1 + ((a & i.k) != 0 ? i.jt : i.jf);
                    break;
                case RET_K:
                    return i.k;
                default:
                    throw new InvalidOperationException($"pc {pc}: unsupported opcode 0x{i.code:x}");
            }
        }
    }

    public static uint Run(Interop.SockFilter[] prog, SeccompData data) => Run(prog, data, out _);

    public static string Describe(uint ret) => (ret & ACTION_FULL) switch
    {
        RET_ALLOW => (ret & DATA) == 0 ? "ALLOW" : $"ALLOW|{ret & DATA}",
        RET_TRACE => (ret & DATA) == 0 ? "TRACE" : $"TRACE|{ret & DATA}",
        _ => $"0x{ret:x8}",
    };
}
