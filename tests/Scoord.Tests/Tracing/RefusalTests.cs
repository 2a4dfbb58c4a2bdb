using Scoord.Tests.Support;

namespace Scoord.Tests.Tracing;

/// <summary>What scoord refuses: journal mutations (EACCES), unjournalable syscalls and ABIs (ENOSYS).</summary>
public sealed class RefusalTests
{
    [Fact]
    public void JournalDirectory_CannotBeChangedByTheApp_ThroughAnyRoute()
    {
        using var t = new TracedRun();
        // Create the journal first so that every route below names existing objects.
        Assert.Equal(0, t.Sh("true").ExitCode);
        string j = t.Journal;
        string script = string.Join("; ",
            $"echo x > {j}/direct && echo LEAK-direct",
            $"ln -s {j} link && echo y > link/vialink && echo LEAK-link",
            $"(cd {j} && echo z > /proc/self/cwd/viacwd) && echo LEAK-cwd",
            $"(cd {j} && touch relative) && echo LEAK-relative",
            $"rm -rf {j}/db && echo LEAK-rm",
            $"mv {j} {t.Path("moved")} && echo LEAK-mv",
            $"mv {t.JournalTree.Path} {t.Path("moved-parent")} && echo LEAK-parent",
            $"chmod 000 {j} && echo LEAK-chmod",
            $"mkdir {j}/newdir && echo LEAK-mkdir",
            "true");
        CliResult run = t.Sh(script);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.DoesNotContain("LEAK", run.Stdout);
        Assert.False(File.Exists(Path.Combine(j, "direct")));
        Assert.False(Directory.Exists(Path.Combine(j, "newdir")));
        Assert.True(Directory.Exists(Path.Combine(j, "db")), "the database survived");
        IReadOnlyList<LogLine> log = t.Log();
        Assert.Contains(log, l => l.Refused && l.Errno == "EACCES" && l.Path == j + "/direct");
        Assert.True(log.Count(l => l.Refused && l.Errno == "EACCES") >= 8, RunJournalTests.Dump(log));
    }

    [Fact]
    public void IoUringSetup_FailsWithEnosys_AndIsJournaledAsRefused()
    {
        using var t = new TracedRun();
        string exe = TracedRun.Compile(t.JournalTree, "uring", """
            #include <errno.h>
            #include <stdio.h>
            #include <string.h>
            #include <sys/syscall.h>
            #include <unistd.h>
            int main(void) {
                char params[120];
                memset(params, 0, sizeof params);
                long r = syscall(425 /* io_uring_setup */, 8, params);
                printf("%ld %d\n", r, r < 0 ? errno : 0);
                return 0;
            }
            """);
        CliResult run = t.Run(exe);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("-1 38", run.Stdout.Trim());
        Assert.Contains(t.Log(), l => l.Op == "io_uring_setup" && l.Refused && l.Errno == "ENOSYS" && l.Status == "failed");
    }

    [Fact]
    public void I386Syscalls_CannotBypassTheJournal()
    {
        using var t = new TracedRun();
        // open("i386.txt", O_WRONLY|O_CREAT|O_TRUNC) through int 0x80, then exit(-result).
        string src = t.JournalTree.WriteFile("i386.S", """
            .globl _start
            _start:
              mov $5, %eax
              lea path(%rip), %rbx
              mov $0x241, %ecx
              mov $0644, %edx
              int $0x80
              mov %eax, %ebx
              neg %ebx
              mov $1, %eax
              int $0x80
            path: .asciz "i386.txt"
            """);
        string exe = t.JournalTree.Combine("i386");
        using (var cc = System.Diagnostics.Process.Start("cc", ["-nostdlib", "-static", "-no-pie", "-o", exe, src])!)
        {
            cc.WaitForExit();
            Assert.Equal(0, cc.ExitCode);
        }

        CliResult run = t.Run(exe);
        Assert.Equal(38, run.ExitCode); // ENOSYS
        Assert.False(File.Exists(t.Path("i386.txt")));
        Assert.Contains(t.Log(), l => l.Op == "foreign_abi" && l.Refused && l.Errno == "ENOSYS");
    }

    [Fact]
    public void Launcher_RefusesToRunUntraced()
    {
        string launcher = Path.Combine(Path.GetDirectoryName(ScoordCli.BinaryPath)!, "scoord-launch");
        Assert.True(File.Exists(launcher), "scoord-launch is shipped next to scoord: " + launcher);
        var psi = new System.Diagnostics.ProcessStartInfo(launcher) { RedirectStandardError = true };
        psi.ArgumentList.Add("0");
        psi.ArgumentList.Add("/bin/true");
        psi.ArgumentList.Add("true");
        psi.RedirectStandardInput = true;
        using var p = System.Diagnostics.Process.Start(psi)!;
        // Send a one-instruction filter: the launcher must still refuse because nobody traces it.
        byte[] msg = [1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0xff, 0x7f];
        p.StandardInput.BaseStream.Write(msg);
        p.StandardInput.Close();
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.Equal(127, p.ExitCode);
        Assert.Contains("not traced", err);
    }
}
