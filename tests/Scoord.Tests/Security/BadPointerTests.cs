using Scoord.Tests.Support;
using Scoord.Tests.Tracing;

namespace Scoord.Tests.Security;

/// <summary>
/// A program passing garbage to journaled syscalls (bad pointers, paths without a NUL within PATH_MAX,
/// absurd iovec counts): scoord must not crash, the program gets exactly the errno it gets without
/// scoord, and the journal stays consistent.
/// </summary>
public sealed class BadPointerTests
{
    private const string Source = """
        #define _GNU_SOURCE
        #include <errno.h>
        #include <fcntl.h>
        #include <limits.h>
        #include <linux/openat2.h>
        #include <stdint.h>
        #include <stdio.h>
        #include <string.h>
        #include <sys/mman.h>
        #include <sys/syscall.h>
        #include <sys/uio.h>
        #include <unistd.h>

        static void report(const char *name, long rc)
        {
            int e = errno;
            printf("%s %ld %s\n", name, rc < 0 ? -1L : rc, rc < 0 ? strerrorname_np(e) : "OK");
            fflush(stdout);
        }
        #define TRY(name, expr) do { errno = 0; long _r = (long)(expr); report(name, _r); } while (0)
        #define KERNEL ((void *)0xffff888000000000UL)

        int main(void)
        {
            long page = sysconf(_SC_PAGESIZE);
            char *two = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            munmap(two + page, page); /* the second page is unmapped */
            char *gone = two + page;
            char *tail100 = two + page - 100;  /* 100 bytes, no NUL, then the hole */
            memset(tail100, 'a', 100);
            char *big = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            memset(big, 'b', 4 * page - 1);   /* far past PATH_MAX without a NUL, then one */
            big[4 * page - 1] = 0;
            char *exact = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            munmap(exact + page, page);
            memset(exact, 'c', page);          /* exactly PATH_MAX bytes, no NUL, then the hole */

            TRY("open-null", open(NULL, O_WRONLY | O_CREAT, 0644));
            TRY("open-one", open((char *)1, O_WRONLY | O_CREAT, 0644));
            TRY("open-unmapped", open(gone, O_WRONLY | O_CREAT, 0644));
            TRY("open-kernel", open(KERNEL, O_WRONLY | O_CREAT, 0644));
            TRY("open-runs-into-hole", open(tail100, O_WRONLY | O_CREAT, 0644));
            TRY("open-no-nul-within-path-max", open(big, O_WRONLY | O_CREAT, 0644));
            TRY("open-path-max-then-hole", open(exact, O_WRONLY | O_CREAT, 0644));
            TRY("openat-kernel", openat(AT_FDCWD, KERNEL, O_RDWR | O_TRUNC));
            TRY("creat-unmapped", creat(gone, 0644));
            TRY("openat2-null-how", syscall(SYS_openat2, AT_FDCWD, "x2", NULL, sizeof(struct open_how)));
            TRY("openat2-short-how", syscall(SYS_openat2, AT_FDCWD, "x2", big, 8));
            struct open_how how = { .flags = O_CREAT | O_WRONLY, .mode = 0644 };
            TRY("openat2-bad-path", syscall(SYS_openat2, AT_FDCWD, KERNEL, &how, sizeof how));

            int fd = open("target", O_WRONLY | O_CREAT | O_TRUNC, 0644);
            TRY("rename-null", rename(NULL, "y"));
            TRY("rename-to-unmapped", rename("target", gone));
            TRY("rename-to-kernel", rename("target", KERNEL));
            TRY("rename-too-long", rename("target", big));
            TRY("renameat2-bad", syscall(SYS_renameat2, AT_FDCWD, (char *)1, AT_FDCWD, "z", 0));

            struct iovec iov[2] = { { "hello ", 6 }, { "world\n", 6 } };
            TRY("writev-null-iov", writev(fd, NULL, 1));
            TRY("writev-kernel-iov", writev(fd, KERNEL, 2));
            TRY("writev-unmapped-iov", writev(fd, (struct iovec *)gone, 2));
            TRY("writev-iovcnt-over-iov-max", writev(fd, iov, IOV_MAX + 1));
            TRY("writev-iovcnt-2^31", syscall(SYS_writev, fd, iov, 1UL << 31));
            TRY("writev-iovcnt-negative", writev(fd, iov, -1));
            struct iovec badbase[1] = { { NULL, 10 } };
            TRY("writev-null-base", writev(fd, badbase, 1));
            struct iovec overflow[2] = { { "a", SSIZE_MAX }, { "b", SSIZE_MAX } };
            TRY("writev-length-overflow", writev(fd, overflow, 2));
            TRY("pwritev-null-iov", pwritev(fd, NULL, 2, 0));
            TRY("pwritev-iovcnt-over-iov-max", pwritev(fd, iov, IOV_MAX + 1, 0));
            TRY("pwritev-iovcnt-2^31", syscall(SYS_pwritev, fd, iov, 1UL << 31, 0, 0));
            TRY("pwritev2-kernel-iov", syscall(SYS_pwritev2, fd, KERNEL, 1, 0, 0, 0));
            TRY("write-unmapped-buf", write(fd, gone, 10));
            TRY("pwrite-kernel-buf", pwrite(fd, KERNEL, 10, 0));
            TRY("writev-good", writev(fd, iov, 2));
            close(fd);
            TRY("rename-good", rename("target", "renamed"));
            return 0;
        }
        """;

    [Fact]
    public void GarbageArguments_GetTheSameErrnoAsWithoutScoord_AndTheJournalStaysConsistent()
    {
        using var t = new TracedRun();
        string exe = TracedRun.Compile(t.JournalTree, "bad-pointers", Source);
        using var directTree = new TempTree("scoord-badptr-direct-");
        var psi = new System.Diagnostics.ProcessStartInfo(exe) { RedirectStandardOutput = true, WorkingDirectory = directTree.Path };
        using var p = System.Diagnostics.Process.Start(psi)!;
        string direct = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(30_000));
        Assert.Equal(0, p.ExitCode);

        CliResult run = t.Run(exe);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(direct, run.Stdout);
        // The errnos are the kernel's, and the program really got them (not a test that cannot fail).
        string[] lines = direct.TrimEnd('\n').Split('\n');
        Assert.Equal(33, lines.Length);
        Assert.Contains("open-no-nul-within-path-max -1 ENAMETOOLONG", lines);
        Assert.Contains("open-kernel -1 EFAULT", lines);
        Assert.Contains("writev-iovcnt-over-iov-max -1 EINVAL", lines);
        Assert.Contains("writev-good 12 OK", lines);
        Assert.Equal("hello world\n", File.ReadAllText(t.Path("renamed")));

        // The journal: readable, nothing pending, the good operations completed with their results.
        IReadOnlyList<LogLine> log = t.Log();
        Assert.DoesNotContain(log, l => l.Status == "pending");
        Assert.Contains(log, l => l.Op == "writev" && l.Status == "completed" && l.Result == 12);
        Assert.Contains(log, l => l.Op is "rename" or "renameat" or "renameat2" && l.Status == "completed" && l.Path == t.Path("target") && l.Path2 == t.Path("renamed"));
        Assert.Contains(log, l => l.Op is "open" or "openat" && l.Status == "failed" && l.Errno == "EFAULT");
        Assert.Contains(log, l => l.Op == "writev" && l.Status == "failed" && l.Errno == "EINVAL");
        Assert.Contains(log, l => l.Status == "failed" && l.Errno == "ENAMETOOLONG");
        CliResult ck = t.Cli.Run("checkpoints");
        Assert.True(ck.ExitCode == 0, ck.ToString());
    }
}
