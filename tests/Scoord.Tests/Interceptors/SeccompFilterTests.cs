using FsCheck.Xunit;
using Scoord.Interceptors;
using Scoord.Interceptors.Seccomp;
using Scoord.Interceptors.Syscalls;
using Xunit;
using Xunit.Abstractions;
using static Scoord.Tests.Interceptors.LinuxAbi;
using static Scoord.Tests.Interceptors.SeccompBpf;

namespace Scoord.Tests.Interceptors;

/// <summary>
/// Runs the generated seccomp programs in <see cref="SeccompBpf"/> and compares every decision with what
/// <see cref="SyscallTable"/> says should happen.
/// </summary>
public sealed class SeccompFilterTests(ITestOutputHelper output)
{
    private const uint TRACE_FOREIGN_ARCH = RET_TRACE | 1;
    private const uint TRACE_X32 = RET_TRACE | 2;
    private const int MaxStepsAllowed = 40;

    private static readonly int[] s_fastMasks = [0, 1, 2, 3, 4, 5, 6, 7];

    private static Interop.SockFilter[] Filter(int fast = 7, bool syncs = false)
        => FilterGenerator.Build(new FilterOptions { StdioFastFds = fast, TraceSyncs = syncs });

    private static uint Decide(Interop.SockFilter[] prog, string name, params ulong[] args)
    {
        int nr = SyscallTable.NumberOf(name);
        Assert.True(nr >= 0, $"no syscall {name} in the table");
        return Run(prog, SeccompData.X86_64(nr, args));
    }

    private static void AssertDecision(uint expected, uint actual, string what)
        => Assert.True(expected == actual, $"{what}: expected {Describe(expected)}, filter returned {Describe(actual)}");

    // ------------------------------------------------------------------ structure

    [Fact]
    public void Every_generated_program_validates_and_fits_the_kernel_limit()
    {
        var lengths = new List<string>();
        foreach (int fast in s_fastMasks)
        {
            foreach (bool syncs in new[] { false, true })
            {
                Interop.SockFilter[] prog = Filter(fast, syncs);
                List<string> errors = Validate(prog, out int unreachable);
                Assert.True(errors.Count == 0, $"fast={fast} syncs={syncs}: " + string.Join("; ", errors));
                Assert.True(prog.Length <= 4096, $"{prog.Length} instructions");
                Assert.True(unreachable == 0, $"fast={fast} syncs={syncs}: {unreachable} unreachable instruction(s)");
                lengths.Add($"{fast}/{(syncs ? 'S' : '-')}:{prog.Length}");
            }
        }

        Interop.SockFilter[] guard = FilterGenerator.BuildStdioGuard();
        List<string> guardErrors = Validate(guard, out int guardUnreachable);
        Assert.True(guardErrors.Count == 0, "stdio guard: " + string.Join("; ", guardErrors));
        Assert.Equal(0, guardUnreachable);
        output.WriteLine($"base filter lengths (fast/syncs:insns): {string.Join(" ", lengths)}; stdio guard: {guard.Length}");
    }

    [Fact]
    public void The_validator_rejects_what_the_kernel_would_reject()
    {
        Interop.SockFilter Ret(uint k) => new() { code = RET_K, k = k };
        Assert.NotEmpty(Validate([new Interop.SockFilter { code = LD_W_ABS, k = 0 }], out _));           // falls off the end
        Assert.NotEmpty(Validate([new Interop.SockFilter { code = LD_W_ABS, k = 2 }, Ret(0)], out _));   // misaligned
        Assert.NotEmpty(Validate([new Interop.SockFilter { code = LD_W_ABS, k = 64 }, Ret(0)], out _));  // past seccomp_data
        Assert.NotEmpty(Validate([new Interop.SockFilter { code = JMP_JA, k = 1 }, Ret(0)], out _));     // jumps out
        Assert.NotEmpty(Validate([new Interop.SockFilter { code = JMP_JEQ_K, jt = 0, jf = 2 }, Ret(0), Ret(0)], out _));
        Assert.NotEmpty(Validate([new Interop.SockFilter { code = 0x04 /* ALU ADD K */ }, Ret(0)], out _));
        Assert.NotEmpty(Validate([Ret(0), new Interop.SockFilter { code = LD_W_ABS }], out _));          // last is not RET
        Assert.NotEmpty(Validate([], out _));
        Assert.Empty(Validate([new Interop.SockFilter { code = JMP_JEQ_K, jt = 1, jf = 0 }, Ret(1), Ret(2)], out _));
    }

    // ------------------------------------------------------------------ every syscall number

    /// <summary>What the table says the filter must return (the specification the generator implements).</summary>
    private static uint Expected(SeccompData d, int fast, bool syncs)
    {
        if (d.Arch != Interop.Libc.AUDIT_ARCH_X86_64)
        {
            return TRACE_FOREIGN_ARCH;
        }

        uint nr = (uint)d.Nr;
        if ((nr & 0x40000000) != 0)
        {
            return TRACE_X32;
        }

        if (!SyscallTable.IsKnown(nr))
        {
            return RET_TRACE;
        }

        ref readonly SyscallEntry e = ref SyscallTable.Get((int)nr);
        uint Low(int i) => (uint)d.Arg(i);
        bool trace = e.Class switch
        {
            SyscallClass.Allow => false,
            SyscallClass.Trace => true,
            SyscallClass.OpenFlags => (Low(e.FlagsArg) & (uint)(Interop.Libc.O_WRONLY | Interop.Libc.O_RDWR | Interop.Libc.O_CREAT | Interop.Libc.O_TRUNC)) != 0,
            SyscallClass.FdMutate => !(Low(e.FdArg) < 3 && (fast & (1 << (int)Low(e.FdArg))) != 0),
            SyscallClass.DupTarget => Low(1) <= 2,
            SyscallClass.FcntlDup => Low(1) is (uint)Interop.Libc.F_DUPFD or (uint)Interop.Libc.F_DUPFD_CLOEXEC && Low(2) <= 2,
            SyscallClass.Ioctl => Low(1) is FICLONE or FICLONERANGE or FIDEDUPERANGE or FS_IOC_SETFLAGS or FS_IOC_FSSETXATTR,
            SyscallClass.MmapShared => (Low(3) & MAP_ANONYMOUS) == 0 && (Low(3) & MAP_SHARED) != 0 && (Low(2) & PROT_WRITE) != 0,
            SyscallClass.Sync => syncs,
            SyscallClass.CloseIfAsked => false, // these tests never set TraceCloses
            SyscallClass.NamespaceFlags => (Low(e.FlagsArg) & (CLONE_NEWNS | CLONE_NEWUSER)) != 0,
            // The fast path's stops (FastPath/FastPathFilterTests): these filters are built without it.
            SyscallClass.ExecFastPath or SyscallClass.SeccompFastPath or SyscallClass.PrctlSeccomp or SyscallClass.AddressGuard => false,
            _ => true,
        };
        return trace ? RET_TRACE : RET_ALLOW;
    }

    private static readonly ulong[] s_probeValues =
    [
        0, 1, 2, 3, 7, 10, 0x20, 0x21, 0x40, 0x200, 0x10000, 0x20000, 0x10000000, TCGETS, FICLONE, FIDEDUPERANGE, FS_IOC_FSSETXATTR,
        (ulong)Interop.Libc.F_DUPFD_CLOEXEC, (ulong)Interop.Libc.F_GETFL, 0xFFFF_FFFF, 0x1_0000_0001, ulong.MaxValue,
    ];

    /// <summary>Representative argument vectors: a few uniform ones, then each probe value in each position over two backgrounds.</summary>
    private static IEnumerable<ulong[]> ArgVectors()
    {
        yield return [0, 0, 0, 0, 0, 0];
        yield return [1, 1, 1, 1, 1, 1];
        yield return [5, 0x43, 0x3, 0x1, 3, 0];
        yield return [ulong.MaxValue, ulong.MaxValue, ulong.MaxValue, ulong.MaxValue, ulong.MaxValue, ulong.MaxValue];
        foreach (ulong background in new ulong[] { 0, 10 })
        {
            for (int pos = 0; pos < 6; pos++)
            {
                foreach (ulong v in s_probeValues)
                {
                    ulong[] a = [background, background, background, background, background, background];
                    a[pos] = v;
                    yield return a;
                }
            }
        }

        // mmap shapes: (addr, len, prot, flags, fd, off)
        yield return [0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, 3, 0];
        yield return [0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE, 3, 0];
        yield return [0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, ulong.MaxValue, 0];
        yield return [0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, 3, 0];
        yield return [0, 4096, PROT_READ, MAP_SHARED, 3, 0];
    }

    [Fact]
    public void Every_syscall_number_gets_the_decision_the_table_specifies()
    {
        List<ulong[]> vectors = [.. ArgVectors()];
        int maxSteps = 0;
        string maxWhere = "";
        long runs = 0;
        var failures = new List<string>();
        var allowSteps = new List<int>();

        foreach (int fast in s_fastMasks)
        {
            foreach (bool syncs in new[] { false, true })
            {
                Interop.SockFilter[] prog = Filter(fast, syncs);
                for (int nr = 0; nr <= SyscallTable.Count + 10; nr++)
                {
                    foreach (ulong[] args in vectors)
                    {
                        SeccompData d = SeccompData.X86_64(nr, args);
                        uint actual = Run(prog, d, out int steps);
                        runs++;
                        uint expected = Expected(d, fast, syncs);
                        if (actual != expected && failures.Count < 40)
                        {
                            string name = SyscallTable.IsKnown(nr) ? SyscallTable.Get(nr).Name : "(unknown)";
                            failures.Add($"nr {nr} {name} fast={fast} syncs={syncs} args=[{string.Join(", ", args.Select(a => $"0x{a:x}"))}]: expected {Describe(expected)}, got {Describe(actual)}");
                        }

                        if (steps > maxSteps)
                        {
                            maxSteps = steps;
                            maxWhere = $"nr {nr} ({(SyscallTable.IsKnown(nr) ? SyscallTable.Get(nr).Name : "unknown")}), fast={fast}, syncs={syncs}";
                        }

                        if (fast == 7 && !syncs && args.All(a => a == 0) && SyscallTable.IsKnown(nr) && SyscallTable.Get(nr).Class == SyscallClass.Allow)
                        {
                            allowSteps.Add(steps);
                        }
                    }
                }
            }
        }

        output.WriteLine($"{runs} filter runs over syscall numbers 0..{SyscallTable.Count + 10} ({vectors.Count} argument vectors, 16 option sets).");
        output.WriteLine($"Maximum instructions executed for one syscall: {maxSteps} at {maxWhere}.");
        output.WriteLine($"Allow-class syscalls: {allowSteps.Min()}..{allowSteps.Max()} instructions, mean {allowSteps.Average():F1}.");
        Assert.True(failures.Count == 0, $"decisions differ from the table:\n  {string.Join("\n  ", failures)}");
        Assert.True(maxSteps <= MaxStepsAllowed, $"{maxSteps} instructions executed at {maxWhere} (limit {MaxStepsAllowed})");
    }

    [Fact]
    public void Allow_class_rows_pass_and_trace_class_and_unknown_numbers_stop_whatever_the_arguments()
    {
        Interop.SockFilter[] prog = Filter();
        int allow = 0, trace = 0, unknown = 0;
        for (int nr = 0; nr <= SyscallTable.Count + 10; nr++)
        {
            foreach (ulong[] args in new[] { new ulong[6], [1, 1, 1, 1, 1, 1], [ulong.MaxValue, 3, 0x43, 1, 4, 5] })
            {
                uint r = Run(prog, SeccompData.X86_64(nr, args));
                if (!SyscallTable.IsKnown(nr))
                {
                    AssertDecision(RET_TRACE, r, $"unknown nr {nr}");
                    unknown++;
                }
                else if (SyscallTable.Get(nr).Class == SyscallClass.Allow)
                {
                    AssertDecision(RET_ALLOW, r, SyscallTable.Get(nr).Name);
                    allow++;
                }
                else if (SyscallTable.Get(nr).Class == SyscallClass.Trace)
                {
                    AssertDecision(RET_TRACE, r, SyscallTable.Get(nr).Name);
                    trace++;
                }
            }
        }

        Assert.True(allow > 0 && trace > 0 && unknown > 0);
        foreach (uint nr in new uint[] { 0xFFFF, 0x3FFF_FFFF, 1u << 20 })
        {
            AssertDecision(RET_TRACE, Run(prog, new SeccompData((int)nr, Interop.Libc.AUDIT_ARCH_X86_64, 0)), $"nr 0x{nr:x}");
        }
    }

    // ------------------------------------------------------------------ named scenarios

    [Fact]
    public void Opens_pass_read_only_and_stop_for_write_create_or_truncate()
    {
        Interop.SockFilter[] prog = Filter();
        const ulong path = 0x7fff0000;
        int cwd = Interop.Libc.AT_FDCWD;
        ulong[] readOnly = [(ulong)Interop.Libc.O_RDONLY, (ulong)(Interop.Libc.O_RDONLY | Interop.Libc.O_CLOEXEC), (ulong)(Interop.Libc.O_DIRECTORY | Interop.Libc.O_NOFOLLOW), (ulong)Interop.Libc.O_PATH];
        ulong[] writing = [(ulong)Interop.Libc.O_WRONLY, (ulong)Interop.Libc.O_RDWR, (ulong)Interop.Libc.O_CREAT, (ulong)Interop.Libc.O_TRUNC, (ulong)(Interop.Libc.O_WRONLY | Interop.Libc.O_APPEND), (ulong)Interop.Libc.O_TMPFILE | (ulong)Interop.Libc.O_RDWR];
        foreach (ulong f in readOnly)
        {
            AssertDecision(RET_ALLOW, Decide(prog, "open", path, f, 0), $"open flags 0x{f:x}");
            AssertDecision(RET_ALLOW, Decide(prog, "openat", (ulong)(long)cwd, path, f, 0), $"openat flags 0x{f:x}");
        }

        foreach (ulong f in writing)
        {
            AssertDecision(RET_TRACE, Decide(prog, "open", path, f, 0644), $"open flags 0x{f:x}");
            AssertDecision(RET_TRACE, Decide(prog, "openat", (ulong)(long)cwd, path, f, 0644), $"openat flags 0x{f:x}");
        }

        // The flags live in arg 1 of open and arg 2 of openat: write flags elsewhere do not matter.
        AssertDecision(RET_ALLOW, Decide(prog, "open", path, 0, (ulong)Interop.Libc.O_WRONLY), "open with mode 1");
        AssertDecision(RET_ALLOW, Decide(prog, "openat", (ulong)Interop.Libc.O_RDWR, path, 0, 0x1ff), "openat dirfd 2");
        AssertDecision(RET_TRACE, Decide(prog, "openat2", (ulong)(long)cwd, path, 0, 24), "openat2 (flags in memory)");
        AssertDecision(RET_TRACE, Decide(prog, "creat", path, 0644), "creat");
    }

    [Fact]
    public void Writes_through_fds_pass_only_for_fast_stdio_fds()
    {
        string[] fdMutators = [.. Enumerable.Range(0, SyscallTable.Count).Where(n => SyscallTable.Get(n).Class == SyscallClass.FdMutate).Select(n => SyscallTable.Get(n).Name)];
        Assert.Contains("write", fdMutators);
        Assert.Contains("pwrite64", fdMutators);
        Interop.SockFilter[] all = Filter(fast: 7), noStdout = Filter(fast: 5), none = Filter(fast: 0);
        foreach (string name in fdMutators)
        {
            int fdArg = SyscallTable.Get(SyscallTable.NumberOf(name)).FdArg;
            ulong[] Args(ulong fd)
            {
                ulong[] a = [9, 0x1000, 4096, 0, 0, 0];
                a[fdArg] = fd;
                return a;
            }

            AssertDecision(RET_ALLOW, Decide(all, name, Args(1)), $"{name} fd 1, fast 7");
            AssertDecision(RET_ALLOW, Decide(all, name, Args(0)), $"{name} fd 0, fast 7");
            AssertDecision(RET_ALLOW, Decide(all, name, Args(2)), $"{name} fd 2, fast 7");
            AssertDecision(RET_TRACE, Decide(noStdout, name, Args(1)), $"{name} fd 1, fast 5");
            AssertDecision(RET_ALLOW, Decide(noStdout, name, Args(2)), $"{name} fd 2, fast 5");
            AssertDecision(RET_TRACE, Decide(all, name, Args(5)), $"{name} fd 5, fast 7");
            AssertDecision(RET_TRACE, Decide(all, name, Args(3)), $"{name} fd 3, fast 7");
            AssertDecision(RET_TRACE, Decide(none, name, Args(1)), $"{name} fd 1, fast 0");
        }
    }

    [Fact]
    public void Dups_stop_only_when_they_land_on_stdio()
    {
        Interop.SockFilter[] prog = Filter();
        foreach (string dup in new[] { "dup2", "dup3" })
        {
            AssertDecision(RET_TRACE, Decide(prog, dup, 5, 1, 0), $"{dup}(5, 1)");
            AssertDecision(RET_TRACE, Decide(prog, dup, 5, 0, 0), $"{dup}(5, 0)");
            AssertDecision(RET_TRACE, Decide(prog, dup, 5, 2, 0), $"{dup}(5, 2)");
            AssertDecision(RET_ALLOW, Decide(prog, dup, 5, 7, 0), $"{dup}(5, 7)");
            AssertDecision(RET_ALLOW, Decide(prog, dup, 1, 3, 0), $"{dup}(1, 3)");
        }

        ulong dupfd = (ulong)Interop.Libc.F_DUPFD, dupfdCloexec = (ulong)Interop.Libc.F_DUPFD_CLOEXEC;
        AssertDecision(RET_TRACE, Decide(prog, "fcntl", 5, dupfd, 0), "fcntl(5, F_DUPFD, 0)");
        AssertDecision(RET_TRACE, Decide(prog, "fcntl", 5, dupfdCloexec, 2), "fcntl(5, F_DUPFD_CLOEXEC, 2)");
        AssertDecision(RET_ALLOW, Decide(prog, "fcntl", 5, dupfd, 10), "fcntl(5, F_DUPFD, 10)");
        AssertDecision(RET_ALLOW, Decide(prog, "fcntl", 5, dupfdCloexec, 3), "fcntl(5, F_DUPFD_CLOEXEC, 3)");
        AssertDecision(RET_ALLOW, Decide(prog, "fcntl", 5, (ulong)Interop.Libc.F_GETFL, 0), "fcntl(5, F_GETFL)");
        AssertDecision(RET_ALLOW, Decide(prog, "fcntl", 5, (ulong)Interop.Libc.F_SETFD, 0), "fcntl(5, F_SETFD, 0)");
        AssertDecision(RET_ALLOW, Decide(prog, "dup", 5), "dup(5)");
    }

    [Fact]
    public void Ioctl_stops_only_for_file_changing_requests()
    {
        Interop.SockFilter[] prog = Filter();
        foreach (uint req in new[] { FICLONE, FICLONERANGE, FIDEDUPERANGE, FS_IOC_SETFLAGS, FS_IOC_FSSETXATTR })
        {
            AssertDecision(RET_TRACE, Decide(prog, "ioctl", 3, req, 0), $"ioctl 0x{req:x}");
            AssertDecision(RET_TRACE, Decide(prog, "ioctl", 1, req, 0), $"ioctl(1, 0x{req:x})");
        }

        foreach (uint req in new[] { TCGETS, FIONREAD, FS_IOC_GETFLAGS, 0u })
        {
            AssertDecision(RET_ALLOW, Decide(prog, "ioctl", 3, req, 0), $"ioctl 0x{req:x}");
        }
    }

    [Fact]
    public void Mmap_stops_only_for_writable_shared_file_mappings()
    {
        Interop.SockFilter[] prog = Filter();
        const ulong len = 4096;
        AssertDecision(RET_TRACE, Decide(prog, "mmap", 0, len, PROT_READ | PROT_WRITE, MAP_SHARED, 3, 0), "MAP_SHARED|PROT_WRITE fd 3");
        AssertDecision(RET_TRACE, Decide(prog, "mmap", 0, len, PROT_WRITE, MAP_SHARED_VALIDATE, 3, 0), "MAP_SHARED_VALIDATE|PROT_WRITE fd 3");
        AssertDecision(RET_ALLOW, Decide(prog, "mmap", 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, 3, 0), "MAP_PRIVATE|PROT_WRITE fd 3");
        AssertDecision(RET_ALLOW, Decide(prog, "mmap", 0, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, ulong.MaxValue, 0), "MAP_SHARED|MAP_ANONYMOUS");
        AssertDecision(RET_ALLOW, Decide(prog, "mmap", 0, len, PROT_READ, MAP_SHARED, 3, 0), "MAP_SHARED read-only");
        AssertDecision(RET_ALLOW, Decide(prog, "mmap", 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, ulong.MaxValue, 0), "anonymous private");
    }

    [Fact]
    public void Sync_calls_stop_only_with_TraceSyncs()
    {
        Interop.SockFilter[] plain = Filter(syncs: false), strict = Filter(syncs: true);
        foreach (string name in new[] { "fsync", "fdatasync", "sync", "syncfs", "msync", "sync_file_range" })
        {
            AssertDecision(RET_ALLOW, Decide(plain, name, 3), name);
            AssertDecision(RET_TRACE, Decide(strict, name, 3), name + " with TraceSyncs");
        }
    }

    [Fact]
    public void Clone_and_unshare_stop_only_for_new_mount_or_user_namespaces()
    {
        Interop.SockFilter[] prog = Filter();
        const ulong thread = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD;
        AssertDecision(RET_ALLOW, Decide(prog, "clone", thread, 0x7000, 0, 0, 0), "clone(thread flags)");
        AssertDecision(RET_ALLOW, Decide(prog, "clone", (ulong)Interop.Libc.SIGCHLD, 0, 0, 0, 0), "clone(SIGCHLD) (fork)");
        AssertDecision(RET_TRACE, Decide(prog, "clone", CLONE_NEWNS | (ulong)Interop.Libc.SIGCHLD, 0, 0, 0, 0), "clone(CLONE_NEWNS)");
        AssertDecision(RET_TRACE, Decide(prog, "clone", CLONE_NEWUSER | (ulong)Interop.Libc.SIGCHLD, 0, 0, 0, 0), "clone(CLONE_NEWUSER)");
        AssertDecision(RET_ALLOW, Decide(prog, "clone", CLONE_NEWPID | CLONE_NEWNET | (ulong)Interop.Libc.SIGCHLD, 0, 0, 0, 0), "clone(CLONE_NEWPID|CLONE_NEWNET)");
        AssertDecision(RET_TRACE, Decide(prog, "unshare", CLONE_NEWNS), "unshare(CLONE_NEWNS)");
        AssertDecision(RET_ALLOW, Decide(prog, "unshare", CLONE_FILES), "unshare(CLONE_FILES)");
        AssertDecision(RET_TRACE, Decide(prog, "clone3", 0x7000, 88), "clone3 (flags in memory)");
    }

    [Fact]
    public void Other_abis_always_stop_with_their_reason_in_the_data_bits()
    {
        Interop.SockFilter[] prog = Filter();
        foreach (int nr in new[] { 0, 1, 3, 5, 39, 102, 300, 1000 })
        {
            AssertDecision(TRACE_FOREIGN_ARCH, Run(prog, new SeccompData(nr, Interop.Libc.AUDIT_ARCH_I386, 0)), $"i386 nr {nr}");
            AssertDecision(TRACE_FOREIGN_ARCH, Run(prog, new SeccompData(nr, 0, 0)), $"arch 0 nr {nr}");
            AssertDecision(TRACE_FOREIGN_ARCH, Run(prog, new SeccompData(nr, 0xC00000B7 /* AUDIT_ARCH_AARCH64 */, 0)), $"aarch64 nr {nr}");
        }

        foreach (int nr in new[] { 0, 1, 2, 39, 512, 547 })
        {
            AssertDecision(TRACE_X32, Run(prog, SeccompData.X86_64(nr | 0x40000000, 1, 2, 3)), $"x32 nr {nr}");
        }

        AssertDecision(TRACE_X32, Run(prog, SeccompData.X86_64(-1)), "nr -1 (x32 bit set)");
    }

    // ------------------------------------------------------------------ stdio guard

    [Fact]
    public void Stdio_guard_stops_fd_mutations_on_fds_0_to_2_only()
    {
        Interop.SockFilter[] guard = FilterGenerator.BuildStdioGuard();
        for (ulong fd = 0; fd <= 2; fd++)
        {
            AssertDecision(RET_TRACE, Decide(guard, "write", fd, 0x1000, 10), $"write fd {fd}");
        }

        AssertDecision(RET_ALLOW, Decide(guard, "write", 3, 0x1000, 10), "write fd 3");
        AssertDecision(RET_ALLOW, Decide(guard, "read", 0, 0x1000, 10), "read fd 0");
        AssertDecision(RET_ALLOW, Decide(guard, "read", 1, 0x1000, 10), "read fd 1");
        AssertDecision(RET_ALLOW, Run(guard, new SeccompData(1, Interop.Libc.AUDIT_ARCH_I386, 0, 1)), "i386 nr 1 fd 1");

        for (int nr = 0; nr <= SyscallTable.Count + 10; nr++)
        {
            bool mutator = SyscallTable.IsKnown(nr) && SyscallTable.Get(nr).Class == SyscallClass.FdMutate;
            for (ulong fd = 0; fd <= 4; fd++)
            {
                ulong[] args = [fd, fd, fd, fd, fd, fd];
                uint expected = mutator && fd <= 2 ? RET_TRACE : RET_ALLOW;
                AssertDecision(expected, Run(guard, SeccompData.X86_64(nr, args)), $"guard nr {nr} fd {fd}");
            }

            if (mutator)
            {
                // Only the fd argument matters.
                int fdArg = SyscallTable.Get(nr).FdArg;
                ulong[] args = [1, 1, 1, 1, 1, 1];
                args[fdArg] = 9;
                AssertDecision(RET_ALLOW, Run(guard, SeccompData.X86_64(nr, args)), $"guard {SyscallTable.Get(nr).Name} fd arg 9");
            }
        }
    }

    // ------------------------------------------------------------------ property

    [Property(MaxTest = 3000)]
    public void Random_inputs_never_run_off_the_program_and_only_allow_or_trace(
        int nrSeed, ulong a0, ulong a1, ulong a2, ulong a3, ulong a4, ulong a5, byte fast, bool syncs, byte archPick)
    {
        // Mostly numbers in and just past the table; sometimes anything (x32 bit, huge values).
        int span = SyscallTable.Count + 16;
        int nr = (nrSeed & 3) == 3 ? nrSeed : (int)((uint)nrSeed % (uint)span);
        uint arch = (archPick % 8) switch
        {
            0 => Interop.Libc.AUDIT_ARCH_I386,
            1 => (uint)archPick * 0x01010101u,
            _ => Interop.Libc.AUDIT_ARCH_X86_64,
        };
        // Small fds and the interesting flag bits should show up often: fold the low bits sometimes.
        ulong Fold(ulong v) => (v & 1) == 0 ? v : v % 16;
        var d = new SeccompData(nr, arch, 0x401000, Fold(a0), Fold(a1), a2, Fold(a3), Fold(a4), a5);

        Interop.SockFilter[] prog = Filter(fast & 7, syncs);
        uint r = Run(prog, d, out int steps);
        uint action = r & ACTION_FULL;
        Assert.True(action is RET_ALLOW or RET_TRACE, $"unexpected action {Describe(r)}");
        Assert.True(action == RET_TRACE || (r & DATA) == 0, $"ALLOW with data bits: {Describe(r)}");
        Assert.True(steps <= MaxStepsAllowed, $"{steps} steps");
        AssertDecision(Expected(d, fast & 7, syncs), r, $"nr {nr} arch 0x{arch:x}");

        uint g = Run(FilterGenerator.BuildStdioGuard(), d);
        Assert.True(g is RET_ALLOW or RET_TRACE, $"stdio guard returned {Describe(g)}");
    }
}
