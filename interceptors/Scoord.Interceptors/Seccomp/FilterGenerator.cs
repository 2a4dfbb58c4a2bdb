using Scoord.Interceptors.Syscalls;

namespace Scoord.Interceptors.Seccomp;

/// <summary>
/// Generates the seccomp filter from <see cref="SyscallTable"/> (one source of truth).
/// Layout: an architecture check (other ABIs always stop, so they cannot bypass the journal),
/// the x32 bit check, then a binary decision tree over syscall-number ranges so that the common
/// allowed syscalls leave the filter after a handful of comparisons.
/// </summary>
internal static class FilterGenerator
{
    // Flags that make an open able to change a file: O_WRONLY | O_RDWR | O_CREAT | O_TRUNC.
    // (O_TMPFILE requires O_WRONLY or O_RDWR.)
    private const uint OpenWriteMask = 0x1 | 0x2 | 0x40 | 0x200;
    private const uint CloneNamespaceMask = 0x00020000 /* CLONE_NEWNS */ | 0x10000000 /* CLONE_NEWUSER */;

    /// <summary>ioctl requests that change a file: FICLONE, FICLONERANGE, FIDEDUPERANGE, FS_IOC_SETFLAGS, FS_IOC_FSSETXATTR.</summary>
    public static readonly uint[] MutatingIoctls = [0x40049409, 0x4020940d, 0xc0189436, 0x40086602, 0x401c5820];

    /// <summary>The base filter installed by the launcher.</summary>
    public static Interop.SockFilter[] Build(FilterOptions options)
    {
        var code = new List<Interop.SockFilter>(1024);
        Ld(code, Bpf.OffArch);
        Jump(code, Bpf.JeqK, Interop.Libc.AUDIT_ARCH_X86_64, 1, 0);
        Ret(code, Bpf.RetTrace | Bpf.DataForeignArch);
        if (options.FastPathStub != 0)
        {
            EmitStubAllow(code, options.FastPathStub);
        }

        Ld(code, Bpf.OffNr);
        Jump(code, Bpf.JsetK, Bpf.X32SyscallBit, 0, 1);
        Ret(code, Bpf.RetTrace | Bpf.DataX32);

        List<(uint Start, int Nr)> ranges = Ranges();
        EmitTree(code, ranges, 0, ranges.Count - 1, options);

        if (code.Count > Bpf.MaxInstructions)
        {
            throw new InvalidOperationException($"seccomp filter has {code.Count} instructions, over the kernel's limit");
        }

        return [.. code];
    }

    /// <summary>
    /// The filter stacked onto a process once a regular file lands on its fd 0, 1 or 2: from then
    /// on, every fd-mutating syscall on fds 0-2 stops in that process and its descendants.
    /// </summary>
    /// <param name="fastPathStub">The fast path's stub page (0: off): its syscalls are journaled by the hooks and pass here too.</param>
    public static Interop.SockFilter[] BuildStdioGuard(ulong fastPathStub = 0)
    {
        var code = new List<Interop.SockFilter>(128);
        Ld(code, Bpf.OffArch);
        Jump(code, Bpf.JeqK, Interop.Libc.AUDIT_ARCH_X86_64, 1, 0);
        Ret(code, Bpf.RetAllow);
        if (fastPathStub != 0)
        {
            EmitStubAllow(code, fastPathStub);
        }

        Ld(code, Bpf.OffNr);
        for (int nr = 0; nr < SyscallTable.Count; nr++)
        {
            ref readonly SyscallEntry e = ref SyscallTable.Get(nr);
            if (e.Class != SyscallClass.FdMutate)
            {
                continue;
            }

            Jump(code, Bpf.JeqK, (uint)nr, 0, 4);
            Ld(code, Bpf.OffArgLow(e.FdArg));
            Jump(code, Bpf.JgtK, 2, 1, 0);
            Ret(code, Bpf.RetTrace);
            Ret(code, Bpf.RetAllow);
        }

        Ret(code, Bpf.RetAllow);
        return [.. code];
    }

    /// <summary>Consecutive numbers with the same plain action form one range; numbers that need an argument check get their own.</summary>
    private static List<(uint Start, int Nr)> Ranges()
    {
        var ranges = new List<(uint, int)>();
        int prevKey = int.MinValue;
        for (int nr = 0; nr < SyscallTable.Count; nr++)
        {
            int key = Key(nr);
            if (key != prevKey || key >= 0)
            {
                ranges.Add(((uint)nr, nr));
            }

            prevKey = key;
        }

        ranges.Add(((uint)SyscallTable.Count, -1)); // unknown numbers: stop, the tracer refuses them
        return ranges;

        static int Key(int nr)
        {
            SyscallClass c = SyscallTable.Get(nr).Class;
            return c switch
            {
                SyscallClass.Allow => -2,
                SyscallClass.Trace => -3,
                _ => nr, // argument checks are per syscall
            };
        }
    }

    private static void EmitTree(List<Interop.SockFilter> code, List<(uint Start, int Nr)> ranges, int lo, int hi, FilterOptions options)
    {
        if (lo == hi)
        {
            EmitAction(code, ranges[lo].Nr, options);
            return;
        }

        int mid = (lo + hi + 1) / 2;
        // A holds the syscall number here. jge -> the 'ja' to the right half; else skip it into the left half.
        Jump(code, Bpf.JgeK, ranges[mid].Start, 0, 1);
        int ja = code.Count;
        code.Add(new Interop.SockFilter { code = Bpf.Ja });
        EmitTree(code, ranges, lo, mid - 1, options);
        code[ja] = new Interop.SockFilter { code = Bpf.Ja, k = (uint)(code.Count - ja - 1) };
        EmitTree(code, ranges, mid, hi, options);
    }

    private static void EmitAction(List<Interop.SockFilter> code, int nr, FilterOptions options)
    {
        if (nr < 0)
        {
            Ret(code, Bpf.RetTrace);
            return;
        }

        ref readonly SyscallEntry e = ref SyscallTable.Get(nr);
        bool fastPath = options.FastPathStub != 0;
        if (fastPath && e.AddressArg >= 0)
        {
            // Below 4 GiB (where the stub page is) a mapping change stops; the tracer refuses it on the page.
            EmitAddressGuard(code, e.AddressArg, e.AddressNonZero);
            if (e.Address2Arg >= 0)
            {
                EmitAddressGuard(code, e.Address2Arg, nonZero: true);
            }
        }

        switch (e.Class)
        {
            case SyscallClass.ExecFastPath:
            case SyscallClass.SeccompFastPath:
                Ret(code, fastPath ? Bpf.RetTrace : Bpf.RetAllow);
                break;
            case SyscallClass.PrctlSeccomp:
                if (fastPath)
                {
                    Ld(code, Bpf.OffArgLow(0));
                    Jump(code, Bpf.JeqK, PrSetSeccomp, 0, 1);
                    Ret(code, Bpf.RetTrace);
                }

                Ret(code, Bpf.RetAllow);
                break;
            case SyscallClass.AddressGuard:
                Ret(code, Bpf.RetAllow); // the guard above stopped what must stop
                break;
            case SyscallClass.Allow:
                Ret(code, Bpf.RetAllow);
                break;
            case SyscallClass.Trace:
                Ret(code, Bpf.RetTrace);
                break;
            case SyscallClass.OpenFlags:
                Ld(code, Bpf.OffArgLow(e.FlagsArg));
                Jump(code, Bpf.JsetK, OpenWriteMask, 0, 1);
                Ret(code, Bpf.RetTrace);
                Ret(code, Bpf.RetAllow);
                break;
            case SyscallClass.FdMutate:
            {
                int fast = options.StdioFastFds & 7;
                if (fast == 0)
                {
                    Ret(code, Bpf.RetTrace);
                    break;
                }

                Ld(code, Bpf.OffArgLow(e.FdArg));
                int count = System.Numerics.BitOperations.PopCount((uint)fast);
                int emitted = 0;
                for (uint fd = 0; fd < 3; fd++)
                {
                    if ((fast & (1 << (int)fd)) != 0)
                    {
                        emitted++;
                        // jump over the remaining jeq's and the 'ret TRACE' to 'ret ALLOW'
                        Jump(code, Bpf.JeqK, fd, (byte)(count - emitted + 1), 0);
                    }
                }

                Ret(code, Bpf.RetTrace);
                Ret(code, Bpf.RetAllow);
                break;
            }

            case SyscallClass.DupTarget:
                Ld(code, Bpf.OffArgLow(1));
                Jump(code, Bpf.JgtK, 2, 1, 0);
                Ret(code, Bpf.RetTrace);
                Ret(code, Bpf.RetAllow);
                break;
            case SyscallClass.FcntlDup:
                Ld(code, Bpf.OffArgLow(1));
                Jump(code, Bpf.JeqK, Interop.Libc.F_DUPFD, 1, 0);
                Jump(code, Bpf.JeqK, Interop.Libc.F_DUPFD_CLOEXEC, 0, 3);
                Ld(code, Bpf.OffArgLow(2));
                Jump(code, Bpf.JgtK, 2, 1, 0);
                Ret(code, Bpf.RetTrace);
                Ret(code, Bpf.RetAllow);
                break;
            case SyscallClass.Ioctl:
            {
                Ld(code, Bpf.OffArgLow(1));
                int n = MutatingIoctls.Length;
                for (int i = 0; i < n; i++)
                {
                    // match: jump to 'ret TRACE' after the remaining compares and the 'ret ALLOW'
                    Jump(code, Bpf.JeqK, MutatingIoctls[i], (byte)(n - i), 0);
                }

                Ret(code, Bpf.RetAllow);
                Ret(code, Bpf.RetTrace);
                break;
            }

            case SyscallClass.MmapShared:
                Ld(code, Bpf.OffArgLow(3));                 // flags
                Jump(code, Bpf.JsetK, 0x20, 4, 0);          // MAP_ANONYMOUS -> allow
                Jump(code, Bpf.JsetK, 0x01, 0, 3);          // not MAP_SHARED(_VALIDATE) -> allow
                Ld(code, Bpf.OffArgLow(2));                 // prot
                Jump(code, Bpf.JsetK, 0x02, 0, 1);          // not PROT_WRITE -> allow
                Ret(code, Bpf.RetTrace);
                Ret(code, Bpf.RetAllow);
                break;
            case SyscallClass.Sync:
                Ret(code, options.TraceSyncs ? Bpf.RetTrace : Bpf.RetAllow);
                break;
            case SyscallClass.CloseIfAsked:
                Ret(code, options.TraceCloses ? Bpf.RetTrace : Bpf.RetAllow);
                break;
            case SyscallClass.NamespaceFlags:
                Ld(code, Bpf.OffArgLow(e.FlagsArg));
                Jump(code, Bpf.JsetK, CloneNamespaceMask, 0, 1);
                Ret(code, Bpf.RetTrace);
                Ret(code, Bpf.RetAllow);
                break;
            default:
                Ret(code, Bpf.RetTrace);
                break;
        }
    }

    private const uint PrSetSeccomp = 22;

    /// <summary>
    /// The fast path's stub page: a syscall whose return address is stub + 2 passes. Both halves of the
    /// instruction pointer are compared (a page with the same low 32 bits elsewhere is no stub).
    /// </summary>
    private static void EmitStubAllow(List<Interop.SockFilter> code, ulong stub)
    {
        ulong exit = stub + 2;
        Ld(code, Bpf.OffIpHigh);
        Jump(code, Bpf.JeqK, (uint)(exit >> 32), 0, 3);
        Ld(code, Bpf.OffIpLow);
        Jump(code, Bpf.JeqK, (uint)exit, 0, 1);
        Ret(code, Bpf.RetAllow);
    }

    /// <summary>Stops when argument <paramref name="arg"/> is below 4 GiB (and, with <paramref name="nonZero"/>, not NULL); else falls through.</summary>
    private static void EmitAddressGuard(List<Interop.SockFilter> code, int arg, bool nonZero)
    {
        Ld(code, Bpf.OffArgHigh(arg));
        if (nonZero)
        {
            Jump(code, Bpf.JeqK, 0, 0, 3);          // high half not 0: past the guard
            Ld(code, Bpf.OffArgLow(arg));
            Jump(code, Bpf.JeqK, 0, 1, 0);          // NULL: past the guard
        }
        else
        {
            Jump(code, Bpf.JeqK, 0, 0, 1);
        }

        Ret(code, Bpf.RetTrace);
    }

    private static void Ld(List<Interop.SockFilter> code, uint offset)
        => code.Add(new Interop.SockFilter { code = Bpf.LdAbsW, k = offset });

    private static void Jump(List<Interop.SockFilter> code, ushort op, uint k, byte jt, byte jf)
        => code.Add(new Interop.SockFilter { code = op, k = k, jt = jt, jf = jf });

    private static void Ret(List<Interop.SockFilter> code, uint value)
        => code.Add(new Interop.SockFilter { code = Bpf.RetK, k = value });
}
