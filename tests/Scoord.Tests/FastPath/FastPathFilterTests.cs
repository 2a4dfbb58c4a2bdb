using Scoord.Interceptors;
using Scoord.Interceptors.Seccomp;
using Scoord.Interceptors.Syscalls;
using Scoord.Journal.Ring;
using Scoord.Tests.Interceptors;
using static Scoord.Tests.Interceptors.SeccompBpf;

namespace Scoord.Tests.FastPath;

/// <summary>
/// The filter under the fast path (run in the BPF interpreter): the stub page's syscalls pass, with both
/// halves of the instruction pointer checked; exec, seccomp filters and mapping changes below 4 GiB stop;
/// without the fast path none of that is in the filter.
/// </summary>
public sealed class FastPathFilterTests
{
    private static readonly Interop.SockFilter[] s_fast = FilterGenerator.Build(new FilterOptions { StdioFastFds = 7, FastPathStub = RingLayout.StubAddress });
    private static readonly Interop.SockFilter[] s_plain = FilterGenerator.Build(new FilterOptions { StdioFastFds = 7 });

    private static uint Decide(Interop.SockFilter[] prog, string name, ulong ip, params ulong[] args)
    {
        int nr = SyscallTable.NumberOf(name);
        ulong At(int i) => i < args.Length ? args[i] : 0;
        return Run(prog, new SeccompData(nr, Interop.Libc.AUDIT_ARCH_X86_64, ip, At(0), At(1), At(2), At(3), At(4), At(5)));
    }

    private const ulong App = 0x7f12_3456_7000;
    private const ulong Stub = RingLayout.StubAddress + 2;

    [Fact]
    public void TheFilters_Validate()
    {
        Assert.Empty(Validate(s_fast, out int unreachable));
        Assert.Equal(0, unreachable);
        Assert.Empty(Validate(FilterGenerator.BuildStdioGuard(RingLayout.StubAddress), out unreachable));
        Assert.Equal(0, unreachable);
    }

    [Theory]
    [InlineData("openat", 0UL, 0x241UL)]
    [InlineData("write", 9UL, 0UL)]
    [InlineData("unlinkat", 0UL, 0UL)]
    [InlineData("renameat2", 0UL, 0UL)]
    [InlineData("mount", 0UL, 0UL)]
    public void SyscallsFromTheStubPage_Pass_FromAnywhereElse_TheyStop(string name, ulong a0, ulong a2)
    {
        Assert.Equal(RET_ALLOW, Decide(s_fast, name, Stub, a0, 0, a2));
        Assert.Equal(RET_TRACE, Decide(s_fast, name, App, a0, 0, a2));
        Assert.Equal(RET_TRACE, Decide(s_fast, name, Stub + 0x1_0000_0000, a0, 0, a2)); // same low half, another page
        Assert.Equal(RET_TRACE, Decide(s_fast, name, RingLayout.StubAddress + 4, a0, 0, a2)); // inside the page, not its syscall
        Assert.Equal(RET_TRACE, Decide(s_plain, name, Stub, a0, 0, a2)); // no stub without the fast path
    }

    [Fact]
    public void AStubSyscallOnAStdioFd_PassesTheStdioGuard()
    {
        Interop.SockFilter[] guard = FilterGenerator.BuildStdioGuard(RingLayout.StubAddress);
        Assert.Equal(RET_ALLOW, Decide(guard, "write", Stub, 1));
        Assert.Equal(RET_TRACE, Decide(guard, "write", App, 1));
    }

    [Fact]
    public void ExecAndSeccompFilters_StopOnlyUnderTheFastPath()
    {
        Assert.Equal(RET_TRACE, Decide(s_fast, "execve", App));
        Assert.Equal(RET_TRACE, Decide(s_fast, "execveat", App));
        Assert.Equal(RET_TRACE, Decide(s_fast, "seccomp", App, 1));
        Assert.Equal(RET_TRACE, Decide(s_fast, "prctl", App, 22)); // PR_SET_SECCOMP
        Assert.Equal(RET_ALLOW, Decide(s_fast, "prctl", App, 15)); // PR_SET_NAME
        Assert.Equal(RET_ALLOW, Decide(s_plain, "execve", App));
        Assert.Equal(RET_ALLOW, Decide(s_plain, "seccomp", App, 1));
        Assert.Equal(RET_ALLOW, Decide(s_plain, "prctl", App, 22));
    }

    [Fact]
    public void MappingChangesBelow4GiB_StopUnderTheFastPath()
    {
        const ulong MapPrivateAnon = 0x22;
        Assert.Equal(RET_TRACE, Decide(s_fast, "mmap", App, RingLayout.StubAddress, 4096, 3, MapPrivateAnon | 0x10));
        Assert.Equal(RET_TRACE, Decide(s_fast, "mmap", App, 0x10000, 4096, 3, MapPrivateAnon));
        Assert.Equal(RET_ALLOW, Decide(s_fast, "mmap", App, 0, 4096, 3, MapPrivateAnon)); // NULL: the kernel chooses, high up
        Assert.Equal(RET_ALLOW, Decide(s_fast, "mmap", App, 0x7f00_0000_0000, 4096, 3, MapPrivateAnon | 0x10));
        Assert.Equal(RET_TRACE, Decide(s_fast, "mmap", App, 0, 4096, 3, 0x01, 5)); // a writable shared file mapping still stops
        Assert.Equal(RET_TRACE, Decide(s_fast, "mprotect", App, RingLayout.StubAddress, 4096, 7));
        Assert.Equal(RET_TRACE, Decide(s_fast, "munmap", App, 0, 0x80000000));
        Assert.Equal(RET_ALLOW, Decide(s_fast, "munmap", App, 0x7f00_0000_0000, 4096));
        Assert.Equal(RET_TRACE, Decide(s_fast, "pkey_mprotect", App, RingLayout.StubAddress, 4096, 7, 0));
        Assert.Equal(RET_TRACE, Decide(s_fast, "mremap", App, RingLayout.StubAddress, 4096, 8192, 1, 0));
        Assert.Equal(RET_TRACE, Decide(s_fast, "mremap", App, 0x7f00_0000_0000, 4096, 4096, 3, RingLayout.StubAddress));
        Assert.Equal(RET_ALLOW, Decide(s_fast, "mremap", App, 0x7f00_0000_0000, 4096, 8192, 1, 0)); // realloc's mremap
        Assert.Equal(RET_TRACE, Decide(s_fast, "shmat", App, 7, RingLayout.StubAddress, 0));
        Assert.Equal(RET_ALLOW, Decide(s_fast, "shmat", App, 7, 0, 0));
        Assert.Equal(RET_ALLOW, Decide(s_plain, "mprotect", App, RingLayout.StubAddress, 4096, 7));
        Assert.Equal(RET_ALLOW, Decide(s_plain, "mmap", App, RingLayout.StubAddress, 4096, 3, MapPrivateAnon | 0x10));
    }
}
