using System.Runtime.InteropServices;
using Scoord.Interceptors;
using Scoord.Interceptors.Seccomp;
using Scoord.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Scoord.Tests.Interceptors;

/// <summary>
/// Installs the generated filter in a real process with no tracer attached. SECCOMP_RET_TRACE without a tracer makes
/// the kernel fail the syscall with ENOSYS, so allowed calls must work and traced ones must fail with ENOSYS. That the
/// install succeeds at all proves the kernel's checker accepts the generated program.
/// </summary>
public sealed class SeccompKernelTests(ITestOutputHelper output)
{
    // Each check sets one bit of the exit status when it fails (the status is the only channel when stdout is not fast).
    private static readonly string[] s_checks =
    [
        "getpid works",
        "open(O_RDONLY) works and read() on it works",
        "open(O_WRONLY|O_CREAT) fails with ENOSYS",
        "openat(O_RDWR) fails with ENOSYS",
        "write to a pipe fd (>2) fails with ENOSYS",
        "unlink fails with ENOSYS",
        "mmap(MAP_PRIVATE) of the read-only fd works",
        "write to stdout behaves as the fast mask says",
    ];

    private const string Program = """
        #define _GNU_SOURCE
        #include <errno.h>
        #include <fcntl.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <unistd.h>
        #include <sys/mman.h>
        #include <sys/prctl.h>
        #include <linux/filter.h>
        #include <linux/seccomp.h>

        static int failures;
        static int bit;
        static char report[4096];
        static size_t used;

        static void check(int ok, const char *what, int err) {
            if (!ok) failures |= 1 << bit;
            if (used < sizeof report)
                used += (size_t)snprintf(report + used, sizeof report - used, "%s %d %s errno=%d\n", ok ? "ok" : "FAIL", bit, what, err);
            bit++;
        }

        /* argv: filter-file readable-file create-path stdout-fast(0/1) */
        int main(int argc, char **argv) {
            if (argc != 5) { fputs("SETUP: usage\n", stderr); return 255; }
            static struct sock_filter insns[4096 + 1];
            FILE *f = fopen(argv[1], "rb");
            if (!f) { perror("SETUP: fopen filter"); return 255; }
            size_t n = fread(insns, 1, sizeof insns, f);
            fclose(f);
            if (n == 0 || n % sizeof(struct sock_filter) != 0 || n > 4096 * sizeof(struct sock_filter)) {
                fprintf(stderr, "SETUP: bad filter file size %zu\n", n);
                return 255;
            }
            int stdout_fast = atoi(argv[4]);
            struct sock_fprog prog = { .len = (unsigned short)(n / sizeof(struct sock_filter)), .filter = insns };
            if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) { perror("SETUP: PR_SET_NO_NEW_PRIVS"); return 255; }
            if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0) {
                fprintf(stderr, "SETUP: PR_SET_SECCOMP rejected the filter (%u insns): %s\n", prog.len, strerror(errno));
                return 255;
            }

            /* From here on, no tracer: RET_TRACE means ENOSYS. */
            errno = 0;
            check(getpid() > 0, "getpid", errno);

            errno = 0;
            int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
            char c = 0;
            int e = errno;
            check(fd >= 0 && read(fd, &c, 1) == 1 && c == 's', "open O_RDONLY + read", e ? e : errno);

            errno = 0;
            int w = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0644);
            check(w == -1 && errno == ENOSYS, "open O_WRONLY|O_CREAT", errno);

            errno = 0;
            int rw = openat(AT_FDCWD, argv[2], O_RDWR);
            check(rw == -1 && errno == ENOSYS, "openat O_RDWR", errno);

            int p[2] = { -1, -1 };
            errno = 0;
            int piped = pipe2(p, O_CLOEXEC);
            e = errno;
            errno = 0;
            ssize_t pw = piped == 0 ? write(p[1], "x", 1) : 0;
            check(piped == 0 && p[1] > 2 && pw == -1 && errno == ENOSYS, "write(pipe)", piped == 0 ? errno : e);

            errno = 0;
            int u = unlink(argv[2]);
            check(u == -1 && errno == ENOSYS, "unlink", errno);

            errno = 0;
            void *m = fd >= 0 ? mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
            check(m != MAP_FAILED && ((const char *)m)[0] == 's', "mmap MAP_PRIVATE", errno);

            errno = 0;
            ssize_t so = write(1, "", 0);
            check(stdout_fast ? so == 0 : (so == -1 && errno == ENOSYS), "write(1)", errno);

            if (stdout_fast) {
                fputs(report, stdout);
                fflush(stdout);
            }
            return failures;
        }
        """;

    [Theory]
    [InlineData(7)]
    [InlineData(0)]
    public void The_kernel_accepts_the_generated_filter_and_enforces_it_without_a_tracer(int fastMask)
    {
        using var tmp = new TempTree("scoord-seccomp-");
        string exe = NativeTool.Compile(tmp.Path, "seccomp-probe", Program);

        Interop.SockFilter[] filter = FilterGenerator.Build(new FilterOptions { StdioFastFds = fastMask, TraceSyncs = false });
        Assert.Equal(8, Marshal.SizeOf<Interop.SockFilter>());
        string filterFile = tmp.Combine("filter.bpf");
        File.WriteAllBytes(filterFile, MemoryMarshal.AsBytes(filter.AsSpan()).ToArray());

        string readable = tmp.WriteFile("readable.txt", "scoord");
        string created = tmp.Combine("created.txt");

        ProcessResult r = NativeTool.Run(exe, [filterFile, readable, created, fastMask == 7 ? "1" : "0"]);
        output.WriteLine($"filter: {filter.Length} instructions, StdioFastFds={fastMask}; probe exit {r.ExitCode}");
        output.WriteLine(r.Stdout);
        if (r.Stderr.Length > 0)
        {
            output.WriteLine("stderr: " + r.Stderr);
        }

        Assert.False(r.Stderr.Contains("SETUP:", StringComparison.Ordinal), $"the probe could not install the filter (exit {r.ExitCode}): {r.Stderr}");
        var failed = s_checks.Where((_, i) => (r.ExitCode & (1 << i)) != 0).ToList();
        Assert.True(failed.Count == 0, $"with StdioFastFds={fastMask} these checks failed: {string.Join("; ", failed)}\n{r.Stdout}");
        Assert.False(File.Exists(created), "the traced open created the file anyway");
        Assert.True(File.Exists(readable), "the traced unlink removed the file anyway");
        Assert.Equal("scoord", File.ReadAllText(readable));
    }
}
