using Scoord.Tests.Rollback;
using Scoord.Tests.Support;
using Scoord.Tests.Tracing;

namespace Scoord.Tests.FastPath;

/// <summary>
/// What the fast path journals, and what it leaves to the ptrace way: calls from libc's interposed
/// functions go through the rings; a raw `syscall` instruction, a static binary, a vfork child are
/// journaled all the same; nothing is journaled twice; the preload survives a cleaned environment; a
/// process with a seccomp filter of its own is still journaled; nothing may take the stub page.
/// </summary>
public sealed class FastPathJournalTests
{
    private static int Count(IReadOnlyList<LogLine> log, string op, string path) => log.Count(l => l.Op == op && l.Path == path);

    [Fact]
    public void InterposedCalls_GoThroughTheRings_AndAreJournaledOnce()
    {
        using var f = new FastPathRun();
        const string Code = """
            import os
            fd = os.open('data', os.O_WRONLY | os.O_CREAT, 0o644)
            for i in range(300):
                os.write(fd, b'x' * 10)
            os.close(fd)
            os.rename('data', 'renamed')
            os.mkdir('dir')
            os.rmdir('dir')
            """;
        CliResult run = f.Traced("python3", "-c", Code);
        Assert.True(run.ExitCode == 0, run.ToString());
        long drained = FastPathRun.DrainedRecords(run);
        Assert.True(drained >= 600, $"the 300 writes' INTENT and DONE records came through the rings ({drained})");
        IReadOnlyList<LogLine> log = f.Log();
        Assert.Equal(300, Count(log, "write", f.Path("data")));
        Assert.Equal(1, Count(log, "openat", f.Path("data")));
        Assert.Single(log, l => l.Op.StartsWith("rename", StringComparison.Ordinal) && l.Path == f.Path("data") && l.Path2 == f.Path("renamed"));
        Assert.Single(log, l => l.Op is "mkdir" or "mkdirat" && l.Path == f.Path("dir"));
        Assert.Single(log, l => l.Op is "rmdir" or "unlinkat" && l.Path == f.Path("dir"));
        Assert.All(log.Where(l => l.Op == "write"), l => Assert.Equal("completed", l.Status));
        List<ulong> seqs = log.Where(l => l.Op == "write").Select(l => l.Seq).ToList();
        Assert.Equal(seqs.OrderBy(s => s), seqs); // one order: the journal's sequence numbers, in program order
        Assert.Equal(300 * 10, new FileInfo(f.Path("renamed")).Length);
    }

    [Fact]
    public void ExtendedAttributeCalls_GoThroughTheRings_AndRollBack()
    {
        using var f = new FastPathRun();
        CliResult setup = f.Run.Cli.Run("run", "--", "python3", "-c",
            "import os\nopen('a', 'w').write('a')\nos.mkdir('d')\nos.setxattr('a', 'user.keep', b'k')\nos.setxattr('d', 'user.keep', b'd')");
        Assert.True(setup.ExitCode == 0, setup.ToString());
        Assert.True(f.Run.Cli.Run("checkpoint", "--name", "c").ExitCode == 0);
        TreeSnapshot atCheckpoint = TreeSnapshot.Take(f.Run.Tree.Path);
        // 200 rounds of the six calls glibc wraps: setxattr, lsetxattr, fsetxattr and the three removals.
        const string Code = """
            import os
            fd = os.open('a', os.O_RDONLY)
            for i in range(200):
                os.setxattr('a', 'user.p', b'%d' % i)
                os.setxattr('d', 'user.l', b'%d' % i, follow_symlinks=False)
                os.setxattr(fd, 'user.f', b'%d' % i)
                os.removexattr('a', 'user.p')
                os.removexattr('d', 'user.l', follow_symlinks=False)
                os.removexattr(fd, 'user.f')
            os.removexattr(fd, 'user.keep')
            os.setxattr('d', 'user.keep', b'changed')
            os.close(fd)
            """;
        CliResult run = f.Traced("python3", "-c", Code);
        Assert.True(run.ExitCode == 0, run.ToString());
        // Each call's INTENT and DONE came through the rings (the ptrace way would have drained none of them).
        Assert.True(FastPathRun.DrainedRecords(run) >= 2 * (6 * 200 + 2), "the xattr calls' records came through the rings:\n" + run.Stderr);
        IReadOnlyList<LogLine> log = f.Log();
        Assert.Equal(2 + 201, Count(log, "setxattr", f.Path("a")) + Count(log, "setxattr", f.Path("d"))); // the setup's two, then this run's
        Assert.Equal(200, Count(log, "lsetxattr", f.Path("d")));
        Assert.Equal(200, Count(log, "fsetxattr", f.Path("a")));
        Assert.Equal(200, Count(log, "removexattr", f.Path("a")));
        Assert.Equal(200, Count(log, "lremovexattr", f.Path("d")));
        Assert.Equal(201, Count(log, "fremovexattr", f.Path("a")));
        Assert.All(log.Where(l => l.Op.Contains("xattr", StringComparison.Ordinal)), l => Assert.Equal("completed", l.Status));
        CliResult rollback = f.Run.Cli.Run("rollback", "c");
        Assert.True(rollback.ExitCode == 0 && !rollback.Stderr.Contains("conflict", StringComparison.Ordinal), rollback.ToString());
        atCheckpoint.AssertEqual(TreeSnapshot.Take(f.Run.Tree.Path));
    }

    [Fact]
    public void FchmodatWithoutFollowingSymlinks_IsOneCallThroughTheRings_AndRefusesASymlinkAsGlibcDoes()
    {
        using var f = new FastPathRun();
        CliResult setup = f.Run.Cli.Run("run", "--", "sh", "-c", "mkdir d && echo x > f && ln -s f l");
        Assert.True(setup.ExitCode == 0, setup.ToString());
        const string Code = """
            import os
            for i in range(100):
                os.chmod('d', 0o700 if i % 2 else 0o755, follow_symlinks=False)
                os.chmod('f', 0o600 if i % 2 else 0o644, follow_symlinks=False)
            try:
                os.chmod('l', 0o600, follow_symlinks=False)
                print('changed')
            except NotImplementedError:
                print('refused')
            """;
        CliResult run = f.Traced("python3", "-c", Code);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("refused", run.Stdout.Trim()); // glibc's emulation answers EOPNOTSUPP for a symlink, and so does the kernel's call
        Assert.True(FastPathRun.DrainedRecords(run) >= 2 * 200, "the calls' records came through the rings:\n" + run.Stderr);
        IReadOnlyList<LogLine> log = f.Log();
        Assert.Equal(100, Count(log, "fchmodat2", f.Path("d")));
        Assert.Equal(100, Count(log, "fchmodat2", f.Path("f")));
        Assert.DoesNotContain(log, l => l.Path == f.Path("l") && l.Op.Contains("chmod", StringComparison.Ordinal)); // refused before any call, as glibc's emulation refuses it
        Assert.Equal("700", Convert.ToString((int)File.GetUnixFileMode(f.Path("d")), 8)); // the last round (i = 99)
        Assert.Equal("600", Convert.ToString((int)File.GetUnixFileMode(f.Path("f")), 8));
    }

    [Fact]
    public void AStdioWriter_GoesThroughTheRings_AndRollsBack()
    {
        // fopen/fputs/fflush/fclose reach libc's open64 and write by libc's internal calls, which no preloaded
        // symbol replaces: the library's detour of those two entries brings them to the hooks.
        using var f = new FastPathRun();
        string exe = TracedRun.Compile(f.Run.JournalTree, "stdio", """
            #include <stdio.h>
            int main(void) {
                for (int i = 0; i < 50; i++) {
                    char name[32];
                    snprintf(name, sizeof name, "f%d", i);
                    FILE *fp = fopen(name, i % 2 ? "w" : "a");
                    if (!fp) return 1;
                    for (int k = 0; k < 4; k++) { fprintf(fp, "line %d of %s\n", k, name); fflush(fp); }
                    if (fclose(fp) != 0) return 2;
                }
                return 0;
            }
            """, "-O1");
        CliResult setup = f.Run.Cli.Run("run", "--", "sh", "-c", "echo old > f0 && echo old > f1");
        Assert.True(setup.ExitCode == 0, setup.ToString());
        Assert.True(f.Run.Cli.Run("checkpoint", "--name", "c").ExitCode == 0);
        TreeSnapshot atCheckpoint = TreeSnapshot.Take(f.Run.Tree.Path);
        CliResult run = f.Traced(exe);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.True(FastPathRun.DrainedRecords(run) >= 2 * (50 + 200), "the opens and writes came through the rings:\n" + run.Stderr);
        IReadOnlyList<LogLine> log = f.Log();
        Assert.Equal(4, Count(log, "write", f.Path("f7")));
        Assert.Equal(1, Count(log, "openat", f.Path("f7")));
        Assert.Equal("old\nline 0 of f0\nline 1 of f0\nline 2 of f0\nline 3 of f0\n", File.ReadAllText(f.Path("f0")));
        CliResult rollback = f.Run.Cli.Run("rollback", "c");
        Assert.True(rollback.ExitCode == 0 && !rollback.Stderr.Contains("conflict", StringComparison.Ordinal), rollback.ToString());
        atCheckpoint.AssertEqual(TreeSnapshot.Take(f.Run.Tree.Path));
    }

    [Fact]
    public void AppendsAndOverwritesOfAKeptFile_RollBackExactly_WhereOnlyTheFdsFlagsTellThemApart()
    {
        // The hook reads an fd's status flags only where a write would otherwise keep blocks: an O_APPEND fd
        // positioned at 0 appends (nothing to keep), a plain fd at 0 overwrites (its blocks are kept). Both in
        // one loop, so that a flag read wrongly either keeps nothing for the overwrite or loses the order. The file
        // is larger than a small file (64 KiB, kept whole at its first touch), so each overwrite keeps its blocks.
        using var f = new FastPathRun();
        CliResult setup = f.Run.Cli.Run("run", "--", "python3", "-c", "open('log', 'wb').write(bytes(range(256)) * 1024)");
        Assert.True(setup.ExitCode == 0, setup.ToString());
        Assert.True(f.Run.Cli.Run("checkpoint", "--name", "c").ExitCode == 0);
        TreeSnapshot atCheckpoint = TreeSnapshot.Take(f.Run.Tree.Path);
        const string Code = """
            import os
            a = os.open('log', os.O_WRONLY | os.O_APPEND)
            w = os.open('log', os.O_WRONLY)
            for i in range(40):
                os.lseek(a, 0, os.SEEK_SET)
                os.write(a, b'appended %d\n' % i)
                os.lseek(w, i * 5000, os.SEEK_SET)
                os.write(w, b'overwritten %d\n' % i)
            os.close(a)
            os.close(w)
            """;
        CliResult run = f.Traced("python3", "-c", Code);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.True(FastPathRun.DrainedRecords(run) >= 2 * 80, "the writes came through the rings:\n" + run.Stderr);
        byte[] now = File.ReadAllBytes(f.Path("log"));
        Assert.Equal((256 * 1024) + Enumerable.Range(0, 40).Sum(i => $"appended {i}\n".Length), now.Length);
        Assert.StartsWith("overwritten 0\n", System.Text.Encoding.Latin1.GetString(now, 0, 20), StringComparison.Ordinal);
        Assert.Equal(1 + 80, Count(f.Log(), "write", f.Path("log"))); // the setup's write and the run's 80
        CliResult rollback = f.Run.Cli.Run("rollback", "c");
        Assert.True(rollback.ExitCode == 0 && !rollback.Stderr.Contains("conflict", StringComparison.Ordinal), rollback.ToString());
        atCheckpoint.AssertEqual(TreeSnapshot.Take(f.Run.Tree.Path));
    }

    [Fact]
    public void TheSameWork_JournalsTheSameOperations_WithAndWithoutTheFastPath()
    {
        const string Script = "mkdir -p a/b && echo x > a/f && printf y >> a/f && cp a/f a/g && mv a/g a/h && ln a/f a/hard && ln -s f a/soft"
            + " && chmod 600 a/f && python3 -c \"import os; os.setxattr('a/f', 'user.x', b'1'); os.removexattr('a/f', 'user.x')\" && touch -d @1000000000 a/h && truncate -s 1 a/h && rm a/hard && rm -r a/b && tar -cf t.tar a && rm -r a && tar -xf t.tar";
        List<string> Ops(bool fast)
        {
            using var f = new FastPathRun();
            CliResult run = f.Run.Cli.Run(fast ? ["run", "--", "sh", "-c", Script] : ["run", "--no-fastpath", "--", "sh", "-c", Script]);
            Assert.True(run.ExitCode == 0, run.ToString());
            string root = f.Path("");
            // tar sets a directory's mode with fchmodat(AT_SYMLINK_NOFOLLOW): glibc 2.36 makes it chmod of
            // /proc/self/fd/N (journaled by the tracer as chmod of the directory), the hook the kernel's
            // fchmodat2 (what newer glibc makes itself): one operation, two names.
            return f.Log()
                .Where(l => l.Op is not ("fork" or "vfork" or "clone" or "exec" or "exit"))
                .Select(l => $"{(l.Op == "fchmodat2" ? "chmod" : l.Op)} {l.Path?.Replace(root, "/T", StringComparison.Ordinal)} {l.Path2?.Replace(root, "/T", StringComparison.Ordinal)} {l.Status} {l.Result}")
                .ToList();
        }

        List<string> ptrace = Ops(fast: false);
        List<string> fast = Ops(fast: true);
        Assert.Equal(ptrace, fast);
    }

    [Fact]
    public void ARawSyscallInstruction_IsJournaledByTheTracer()
    {
        using var f = new FastPathRun();
        string exe = TracedRun.Compile(f.Run.JournalTree, "raw", """
            #include <fcntl.h>
            #include <sys/syscall.h>
            #include <unistd.h>
            static long raw(long n, long a, long b, long c, long d) {
                long r;
                register long r10 __asm__("r10") = d;
                __asm__ volatile("syscall" : "=a"(r) : "0"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
                return r;
            }
            int main(void) {
                long fd = raw(SYS_openat, AT_FDCWD, (long)"raw.txt", O_CREAT | O_WRONLY | O_TRUNC, 0644);
                raw(SYS_write, fd, (long)"raw\n", 4, 0);
                raw(SYS_unlinkat, AT_FDCWD, (long)"gone.txt", 0, 0);
                return fd >= 0 ? 0 : 1;
            }
            """);
        File.WriteAllText(f.Path("gone.txt"), "x");
        CliResult run = f.Traced(exe);
        Assert.True(run.ExitCode == 0, run.ToString());
        IReadOnlyList<LogLine> log = f.Log();
        Assert.Equal(1, Count(log, "openat", f.Path("raw.txt")));
        Assert.Equal(1, Count(log, "write", f.Path("raw.txt")));
        Assert.Equal(1, Count(log, "unlinkat", f.Path("gone.txt")));
        Assert.Equal("raw\n", File.ReadAllText(f.Path("raw.txt")));
    }

    [Fact]
    public void AStaticBinary_IsJournaledByTheTracer()
    {
        using var f = new FastPathRun();
        string exe = TracedRun.Compile(f.Run.JournalTree, "static", """
            #include <fcntl.h>
            #include <stdio.h>
            #include <unistd.h>
            int main(void) {
                int fd = open("static.txt", O_CREAT | O_WRONLY | O_TRUNC, 0644);
                write(fd, "s", 1);
                close(fd);
                rename("static.txt", "moved.txt");
                return 0;
            }
            """, "-static", "-O2");
        CliResult run = f.Traced(exe);
        Assert.True(run.ExitCode == 0, run.ToString());
        IReadOnlyList<LogLine> log = f.Log();
        Assert.Equal(1, Count(log, "openat", f.Path("static.txt")));
        Assert.Equal(1, Count(log, "write", f.Path("static.txt")));
        Assert.Single(log, l => l.Op.StartsWith("rename", StringComparison.Ordinal) && l.Path2 == f.Path("moved.txt"));
    }

    /// <summary>
    /// A hooked process renames a directory away and back while a static binary (the tracer's way) renames,
    /// creates and removes files inside it. A call the tracer decoded while the directory was away ("nothing
    /// there") must not run after a hook brought it back without being decoded again, and the hooks and the
    /// tracer must never both let a path maker and a call with an unresolved path through: otherwise that
    /// call changes the tree without its undo data, and the rollback reports conflicts nobody caused (found
    /// by the kill -9 fact of RollbackExactnessTests: "d2/s3 is gone, but the journal did not remove it").
    /// </summary>
    [Fact]
    public void ADirectoryRenamedByHooks_WhileTheTracerJournalsCallsInsideIt_RollsBackWithoutConflicts()
    {
        using var f = new FastPathRun();
        string exe = TracedRun.Compile(f.Run.JournalTree, "inside", """
            #include <fcntl.h>
            #include <stdio.h>
            #include <unistd.h>
            int main(void) {
                for (int i = 0; i < 4000; i++) {
                    rename("d/a", "d/b");
                    rename("d/b", "d/a");
                    int fd = open("d/n", O_CREAT | O_WRONLY | O_APPEND, 0644);
                    if (fd >= 0) { write(fd, "n", 1); close(fd); }
                    unlink("d/n");
                }
                return 0;
            }
            """, "-static", "-O2");
        CliResult setup = f.Run.Cli.Run("run", "--", "sh", "-c", "mkdir d && echo a > d/a && echo c > d/c");
        Assert.True(setup.ExitCode == 0, setup.ToString());
        Assert.True(f.Run.Cli.Run("checkpoint", "--name", "c").ExitCode == 0);
        TreeSnapshot atCheckpoint = TreeSnapshot.Take(f.Run.Tree.Path);
        const string Flipper = "import os, time\nend = time.time() + 60\nwhile not os.path.exists('stop') and time.time() < end:\n    os.rename('d', 'e'); os.rename('e', 'd')\n";
        CliResult run = f.Traced("sh", "-c", $"python3 -c \"$0\" & {exe}; touch stop; wait", Flipper);
        Assert.True(run.ExitCode == 0, run.ToString());
        CliResult rollback = f.Run.Cli.Run("rollback", "c");
        Assert.True(rollback.ExitCode == 0 && !rollback.Stderr.Contains("conflict", StringComparison.Ordinal), "rollback c reported conflicts nobody caused:\n" + rollback);
        atCheckpoint.AssertEqual(TreeSnapshot.Take(f.Run.Tree.Path));
    }

    [Fact]
    public void AVforkChild_OfAFastPathProcess_IsJournaledAsItself()
    {
        using var f = new FastPathRun();
        string exe = TracedRun.Compile(f.Run.JournalTree, "vforker", """
            #include <fcntl.h>
            #include <sys/wait.h>
            #include <unistd.h>
            int main(void) {
                int fd = open("parent.txt", O_CREAT | O_WRONLY | O_TRUNC, 0644);
                write(fd, "p", 1);
                close(fd);
                pid_t c = vfork();
                if (c == 0) {
                    /* the child runs in the parent's memory, through the same interposed functions */
                    int cfd = open("child.txt", O_CREAT | O_WRONLY | O_TRUNC, 0644);
                    write(cfd, "c", 1);
                    close(cfd);
                    _exit(0);
                }
                int st;
                waitpid(c, &st, 0);
                fd = open("parent.txt", O_WRONLY | O_APPEND);
                write(fd, "q", 1);
                close(fd);
                return 0;
            }
            """);
        CliResult run = f.Traced(exe);
        Assert.True(run.ExitCode == 0, run.ToString());
        IReadOnlyList<LogLine> log = f.Log();
        LogLine vfork = log.Single(l => l.Op == "vfork");
        LogLine childWrite = log.Single(l => l.Op == "write" && l.Path == f.Path("child.txt"));
        Assert.Equal(vfork.Pid, childWrite.Pid);
        Assert.Equal(1, Count(log, "openat", f.Path("child.txt")));
        Assert.Equal(2, Count(log, "write", f.Path("parent.txt")));
        Assert.All(log.Where(l => l.Op == "write" && l.Path == f.Path("parent.txt")), l => Assert.NotEqual(vfork.Pid, l.Pid));
        Assert.Equal("pq", File.ReadAllText(f.Path("parent.txt")));
    }

    [Fact]
    public void AProgramThatCleansItsEnvironment_KeepsTheFastPath()
    {
        using var f = new FastPathRun();
        const string Code = "import os\nfor i in range(200):\n    open('f%d' % i, 'w').close()\n";
        CliResult run = f.Traced("env", "-i", "PATH=/usr/bin:/bin", "python3", "-c", Code);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.True(FastPathRun.DrainedRecords(run) >= 400, "the program run with `env -i` still journals through the rings:\n" + run.Stderr);
        IReadOnlyList<LogLine> log = f.Log();
        Assert.Equal(200, log.Count(l => l.Op == "openat" && l.Path!.StartsWith(f.Path("f"), StringComparison.Ordinal)));
    }

    [Fact]
    public void AProcessWithASeccompFilterOfItsOwn_IsStillJournaled()
    {
        using var f = new FastPathRun();
        string exe = TracedRun.Compile(f.Run.JournalTree, "filtered", """
            #include <fcntl.h>
            #include <linux/filter.h>
            #include <linux/seccomp.h>
            #include <sys/prctl.h>
            #include <unistd.h>
            int main(void) {
                int fd = open("before.txt", O_CREAT | O_WRONLY | O_TRUNC, 0644);
                write(fd, "b", 1);
                close(fd);
                struct sock_filter allow[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
                struct sock_fprog prog = { 1, allow };
                prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
                if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
                    return 2;
                fd = open("after.txt", O_CREAT | O_WRONLY | O_TRUNC, 0644);
                write(fd, "a", 1);
                close(fd);
                return 0;
            }
            """);
        CliResult run = f.Traced(exe);
        Assert.True(run.ExitCode == 0, run.ToString());
        IReadOnlyList<LogLine> log = f.Log();
        Assert.Equal(1, Count(log, "write", f.Path("before.txt")));
        Assert.Equal(1, Count(log, "openat", f.Path("after.txt")));
        Assert.Equal(1, Count(log, "write", f.Path("after.txt")));
    }

    [Fact]
    public void MappingsOverTheStubPage_AreRefused()
    {
        using var f = new FastPathRun();
        string exe = TracedRun.Compile(f.Run.JournalTree, "stubber", """
            #include <errno.h>
            #include <stdio.h>
            #include <sys/mman.h>
            int main(void) {
                void *at = (void *)0x70000000UL;
                void *m = mmap(at, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
                printf("mmap %d\n", m == MAP_FAILED ? errno : 0);
                printf("mprotect %d\n", mprotect(at, 4096, PROT_READ | PROT_WRITE) == 0 ? 0 : errno);
                printf("munmap %d\n", munmap(at, 4096) == 0 ? 0 : errno);
                void *low = mmap((void *)0x10000000UL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
                printf("elsewhere %d\n", low == MAP_FAILED ? errno : 0);
                return 0;
            }
            """);
        CliResult run = f.Run.Cli.Run("run", "--", exe);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("mmap 1\n", run.Stdout, StringComparison.Ordinal); // EPERM
        Assert.Contains("mprotect 1\n", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("munmap 1\n", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("elsewhere 0\n", run.Stdout, StringComparison.Ordinal); // a low address away from the page is fine

        CliResult ptrace = f.Run.Cli.Run("run", "--no-fastpath", "--", exe);
        Assert.Contains("mmap 0\n", ptrace.Stdout, StringComparison.Ordinal); // without the fast path there is no page to guard
    }
}
