using Scoord.Tests.Support;

namespace Scoord.Tests.Tracing;

/// <summary>Real programs under `scoord run`, asserting the journal they produce.</summary>
public sealed class RunJournalTests
{
    private static LogLine Single(IReadOnlyList<LogLine> log, string op, string path, string because)
    {
        List<LogLine> hits = log.Where(l => l.Op == op && l.Path == path).ToList();
        Assert.True(hits.Count == 1, $"{because}: expected one {op} of {path}, found {hits.Count} in\n{Dump(log)}");
        return hits[0];
    }

    private static bool Has(IReadOnlyList<LogLine> log, Func<LogLine, bool> match) => log.Any(match);

    internal static string Dump(IReadOnlyList<LogLine> log) => string.Join('\n', log.Select(l => l.Raw));

    [Fact]
    public void ShRedirectMoveRemove_JournalsCreateWriteRenameUnlinkWithAbsolutePaths()
    {
        using var t = new TracedRun();
        CliResult run = t.Sh("echo a > f; mv f g; rm g");
        Assert.True(run.ExitCode == 0, run.ToString());
        IReadOnlyList<LogLine> log = t.Log();
        string f = t.Path("f"), g = t.Path("g");

        LogLine open = Single(log, "openat", f, "the redirect creates f");
        Assert.Equal("completed", open.Status);
        Assert.True(open.Result >= 0);
        LogLine write = Single(log, "write", f, "echo writes through fd 1 after dup2");
        Assert.Equal(2, write.Result);
        Assert.Equal("completed", write.Status);
        LogLine rename = log.Single(l => l.Op is "rename" or "renameat" or "renameat2");
        Assert.Equal(f, rename.Path);
        Assert.Equal(g, rename.Path2);
        Assert.Equal(0, rename.Result);
        LogLine unlink = log.Single(l => l.Op is "unlink" or "unlinkat");
        Assert.Equal(g, unlink.Path);
        Assert.Equal("completed", unlink.Status);
        Assert.True(open.Seq < write.Seq && write.Seq < rename.Seq && rename.Seq < unlink.Seq, "journal order is program order");
        Assert.False(File.Exists(g));
    }

    [Fact]
    public void AppendAndStderrRedirects_AreJournaled()
    {
        using var t = new TracedRun();
        File.WriteAllText(t.Path("log.txt"), "first\n");
        CliResult run = t.Sh("echo more >> log.txt; ls /definitely-missing 2> err.txt; true");
        Assert.True(run.ExitCode == 0, run.ToString());
        IReadOnlyList<LogLine> log = t.Log();
        LogLine append = Single(log, "write", t.Path("log.txt"), ">> appends");
        Assert.Equal(5, append.Result);
        Assert.True((append.Flags & 0x400) != 0, "the fd was opened O_APPEND: " + append.Raw);
        Assert.True(Has(log, l => l.Op == "write" && l.Path == t.Path("err.txt") && l.Result > 0), "ls writes its error through fd 2 into err.txt\n" + Dump(log));
        Assert.Equal("first\nmore\n", File.ReadAllText(t.Path("log.txt")));
    }

    [Fact]
    public void CoreutilsTree_CpMvRmMkdirLnChmodTouch_AreJournaled()
    {
        using var t = new TracedRun();
        CliResult run = t.Sh("mkdir -p a/b/c && echo x > a/f && cp a/f a/g && mv a/g a/h && ln a/f a/hard && ln -s f a/soft && chmod 600 a/f && touch -d @1000000000 a/h && rm -r a/b");
        Assert.True(run.ExitCode == 0, run.ToString());
        IReadOnlyList<LogLine> log = t.Log();
        string a = t.Path("a");
        Assert.True(Has(log, l => l.Op is "mkdir" or "mkdirat" && l.Path == a + "/b/c" && l.Status == "completed"), "mkdir -p\n" + Dump(log));
        Assert.True(Has(log, l => l.Op == "openat" && l.Path == a + "/g"), "cp creates g");
        Assert.True(Has(log, l => (l.Op is "copy_file_range" or "write" or "sendfile") && l.Path == a + "/g"), "cp copies the content");
        Assert.True(Has(log, l => l.Op.StartsWith("rename", StringComparison.Ordinal) && l.Path == a + "/g" && l.Path2 == a + "/h"), "mv");
        Assert.True(Has(log, l => l.Op is "link" or "linkat" && l.Path == a + "/f" && l.Path2 == a + "/hard"), "ln: path is the old name, path2 the new");
        Assert.True(Has(log, l => l.Op is "symlink" or "symlinkat" && l.Path == a + "/soft" && l.Path2 == "f"), "ln -s: path is the link, path2 its target text");
        Assert.True(Has(log, l => l.Op is "chmod" or "fchmodat" or "fchmodat2" && l.Path == a + "/f" && l.Mode == 0x180), "chmod 600");
        Assert.True(Has(log, l => l.Op == "utimensat" && l.Path == a + "/h"), "touch -d");
        Assert.True(Has(log, l => l.Op is "rmdir" or "unlinkat" && l.Path == a + "/b/c"), "rm -r removes the deepest dir");
        Assert.True(Has(log, l => l.Op is "rmdir" or "unlinkat" && l.Path == a + "/b"), "rm -r removes b");
    }

    [Fact]
    public void TarExtractAndSedInPlace_AreJournaled()
    {
        using var t = new TracedRun();
        t.Tree.WriteFile("src/one.txt", "hello\n");
        t.Tree.WriteFile("src/sub/two.txt", "world\n");
        System.Diagnostics.Process.Start("tar", ["-cf", t.Path("x.tar"), "-C", t.Path("src"), "."])!.WaitForExit();
        Directory.CreateDirectory(t.Path("out"));
        CliResult run = t.Sh("tar -xf x.tar -C out && sed -i s/hello/bye/ out/one.txt");
        Assert.True(run.ExitCode == 0, run.ToString());
        IReadOnlyList<LogLine> log = t.Log();
        string outDir = t.Path("out");
        Assert.True(Has(log, l => l.Op == "openat" && l.Path == outDir + "/sub/two.txt" && l.Status == "completed"), "tar creates two.txt\n" + Dump(log));
        Assert.True(Has(log, l => l.Op == "write" && l.Path == outDir + "/sub/two.txt" && l.Result == 6), "tar writes two.txt");
        Assert.True(Has(log, l => l.Op is "mkdir" or "mkdirat" && l.Path == outDir + "/sub"), "tar makes sub/");
        Assert.True(Has(log, l => l.Op.StartsWith("rename", StringComparison.Ordinal) && l.Path2 == outDir + "/one.txt"), "sed -i renames its temp file over one.txt");
        Assert.Equal("bye\n", File.ReadAllText(t.Path("out/one.txt")));
    }

    [Fact]
    public void PythonThreads_EveryWriteOfEveryThreadIsJournaledInProgramOrder()
    {
        using var t = new TracedRun();
        const string code = """
            import os, threading
            def work(i):
                fd = os.open(f"th{i}.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                for k in range(50):
                    os.write(fd, b"%02d\n" % k)
                os.close(fd)
            ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
            [x.start() for x in ts]
            [x.join() for x in ts]
            """;
        CliResult run = t.Run("python3", "-c", code);
        Assert.True(run.ExitCode == 0, run.ToString());
        IReadOnlyList<LogLine> log = t.Log("--op", "write");
        for (int i = 0; i < 4; i++)
        {
            List<LogLine> writes = log.Where(l => l.Path == t.Path($"th{i}.txt")).OrderBy(l => l.Seq).ToList();
            Assert.Equal(50, writes.Count);
            Assert.All(writes, w => Assert.Equal(3, w.Result));
            Assert.Single(writes.Select(w => w.Tid).Distinct());
            // Offsets grow with the sequence: journal order is each thread's program order.
            Assert.Equal(Enumerable.Range(0, 50).Select(k => (long?)(k * 3)), writes.Select(w => w.Offset));
        }

        Assert.True(log.Select(l => l.Tid).Distinct().Count() >= 2, "writes came from several threads");
    }

    [Fact]
    public void StaticBinary_PosixSpawnAndVfork_AreFollowedAndShowTheProcessTree()
    {
        using var t = new TracedRun();
        string exe = TracedRun.Compile(t.JournalTree, "spawner", """
            #include <fcntl.h>
            #include <spawn.h>
            #include <sys/wait.h>
            #include <unistd.h>
            extern char **environ;
            int main(void) {
                int fd = open("static.txt", O_CREAT | O_WRONLY | O_TRUNC, 0644);
                write(fd, "static\n", 7);
                close(fd);
                pid_t p; int st;
                char *a[] = {"/bin/sh", "-c", "echo spawned > spawned.txt", 0};
                posix_spawn(&p, "/bin/sh", 0, 0, a, environ);
                waitpid(p, &st, 0);
                pid_t v = vfork();
                if (v == 0) { execl("/bin/touch", "touch", "vforked.txt", (char *)0); _exit(127); }
                waitpid(v, &st, 0);
                return 3;
            }
            """, "-static", "-O2");
        CliResult run = t.Run(exe);
        Assert.True(run.ExitCode == 3, "exit status passes through\n" + run);
        IReadOnlyList<LogLine> log = t.Log();
        LogLine main = log.First(l => l.Op == "exec");
        Assert.Equal(exe, main.Path);
        Assert.True(Has(log, l => l.Op == "write" && l.Path == t.Path("static.txt") && l.Pid == main.Pid), "the static binary's own write\n" + Dump(log));
        List<LogLine> children = log.Where(l => l.Op is "fork" or "vfork" or "clone" && l.Ppid == main.Pid).ToList();
        Assert.True(children.Count >= 2, "posix_spawn and vfork children appear with their parent\n" + Dump(log));
        Assert.True(Has(log, l => l.Op == "write" && l.Path == t.Path("spawned.txt") && children.Any(c => c.Pid == l.Pid)), "the spawned shell's write belongs to a child");
        Assert.True(Has(log, l => l.Op == "exec" && l.Path == "/usr/bin/touch" && l.Argv!.Contains("vforked.txt")), "exec shows argv");
        Assert.True(Has(log, l => l.Op == "exit" && l.Pid == main.Pid && l.ExitCode == 3), "exit status recorded");
        Assert.True(File.Exists(t.Path("vforked.txt")));
    }

    [Fact]
    public void FailingOperation_IsRecordedWithItsErrno()
    {
        using var t = new TracedRun();
        CliResult run = t.Sh("mkdir missing-parent/child; rm nothing-here; exit 0");
        Assert.True(run.ExitCode == 0, run.ToString());
        IReadOnlyList<LogLine> failed = t.Log("--failed");
        LogLine mkdir = failed.Single(l => l.Op is "mkdir" or "mkdirat");
        Assert.Equal(t.Path("missing-parent/child"), mkdir.Path);
        Assert.Equal("ENOENT", mkdir.Errno);
        Assert.Equal("failed", mkdir.Status);
        Assert.Equal(-1, mkdir.Result);
        Assert.Contains(failed, l => l.Op is "unlink" or "unlinkat" && l.Errno == "ENOENT");
        Assert.DoesNotContain(failed, l => l.Status != "failed");
    }

    [Theory]
    [InlineData("exit 7", 7)]
    [InlineData("kill -KILL $$", 128 + 9)]
    [InlineData("kill -TERM $$", 128 + 15)]
    public void ExitStatusAndSignals_PassThrough(string script, int expected)
    {
        using var t = new TracedRun();
        Assert.Equal(expected, t.Sh(script).ExitCode);
        Assert.Contains(t.Log(), l => l.Op == "exit" && (expected > 128 ? l.Signal != null : l.ExitCode == expected));
    }

    [Fact]
    public void PipesDevicesAndProcfs_AreNotJournaled()
    {
        using var t = new TracedRun();
        CliResult run = t.Sh("echo x > /dev/null; echo y | cat > /dev/null; echo 1 > /proc/self/clear_refs 2>/dev/null; echo real > real.txt");
        Assert.True(run.ExitCode == 0, run.ToString());
        IReadOnlyList<LogLine> ops = t.Log().Where(l => l.Op is not ("fork" or "vfork" or "clone" or "exec" or "exit")).ToList();
        Assert.All(ops, l => Assert.StartsWith(t.Tree.Path, l.Path ?? "", StringComparison.Ordinal));
        Assert.Contains(ops, l => l.Op == "write" && l.Path == t.Path("real.txt"));
    }

    [Fact]
    public void SignalDispositions_AreDefaultInTheProgram()
    {
        using var t = new TracedRun();
        CliResult run = t.Run("grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status");
        Assert.True(run.ExitCode == 0, run.ToString());
        // .NET ignores SIGPIPE; the program must not inherit that, nor a blocked signal mask.
        // (Other ignored signals are inherited from whoever started scoord, as with nohup.)
        Assert.Contains("SigBlk:\t0000000000000000", run.Stdout);
        string ign = run.StdoutLines.Single(l => l.StartsWith("SigIgn:", StringComparison.Ordinal))["SigIgn:\t".Length..];
        ulong mask = Convert.ToUInt64(ign, 16);
        Assert.True((mask & (1UL << (13 - 1))) == 0, "SIGPIPE is ignored in the traced program: SigIgn " + ign);
        // glibc's posix_spawn ignores its internal signals 32 and 33 in the child; a shell's child has them at the default.
        Assert.True((mask & (3UL << (32 - 1))) == 0, "signal 32 or 33 is ignored in the traced program: SigIgn " + ign);
    }

    [Fact]
    public void GroupStopAndContinue_AndReinjectedSignals_Work()
    {
        using var t = new TracedRun();
        CliResult run = t.Sh("trap 'echo got > trapped.txt' USR1; kill -USR1 $$; (sleep 1; kill -CONT $$) & kill -STOP $$; echo resumed > resumed.txt; wait");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("got\n", File.ReadAllText(t.Path("trapped.txt")));
        Assert.Equal("resumed\n", File.ReadAllText(t.Path("resumed.txt")));
    }

    [Fact]
    public void DaemonizedChild_StaysTracedAndRunWaitsForIt()
    {
        using var t = new TracedRun();
        CliResult run = t.Sh("(sleep 1; echo late > late.txt) & exit 0");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.True(File.Exists(t.Path("late.txt")), "run returned before the orphaned child finished");
        Assert.Contains(t.Log(), l => l.Op == "write" && l.Path == t.Path("late.txt"));
    }

    [Fact]
    public void ExecFromNonMainThread_IsFollowed()
    {
        using var t = new TracedRun();
        const string code = """
            import os, threading, time
            threading.Thread(target=lambda: os.execv("/bin/sh", ["sh", "-c", "echo after > exec.txt"])).start()
            time.sleep(30)
            """;
        CliResult run = t.Run("python3", "-c", code);
        Assert.True(run.ExitCode == 0, run.ToString());
        IReadOnlyList<LogLine> log = t.Log();
        Assert.Contains(log, l => l.Op == "exec" && l.Path == "/usr/bin/dash");
        Assert.Contains(log, l => l.Op == "write" && l.Path == t.Path("exec.txt"));
    }

    [Fact]
    public void ExcludeAndOnly_ScopeTheJournal()
    {
        using var t = new TracedRun();
        t.Tree.CreateDirectory("in");
        t.Tree.CreateDirectory("out");
        CliResult run = t.Cli.Run("run", "--only", t.Path("in"), "--exclude", t.Path("in/skip"), "--", "sh", "-c",
            "mkdir in/skip; echo a > in/a; echo b > out/b; echo c > in/skip/c");
        Assert.True(run.ExitCode == 0, run.ToString());
        List<string?> paths = t.Log().Where(l => l.Path is not null && l.Op != "exec").Select(l => l.Path).ToList();
        Assert.Contains(t.Path("in/a"), paths);
        Assert.DoesNotContain(t.Path("out/b"), paths);
        Assert.DoesNotContain(t.Path("in/skip/c"), paths);
        Assert.Equal("c\n", File.ReadAllText(t.Path("in/skip/c")));
    }
}
