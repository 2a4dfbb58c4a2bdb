using System.Diagnostics;
using Scoord.Tests.Rollback;
using Scoord.Tests.Support;
using Scoord.Tests.Tracing;

namespace Scoord.Tests.Reliability;

/// <summary>A test that mounts a small tmpfs: skipped, with the reason, where mount(2) is not allowed (not root, a container).</summary>
public sealed class TmpfsFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> s_skipReason = new(() =>
    {
        string dir = Directory.CreateTempSubdirectory("scoord-mount-probe-").FullName;
        try
        {
            if (!JournalFullTests.Mount(dir, "size=1m", out string why))
            {
                return "cannot mount a tmpfs for the journal: " + why;
            }

            JournalFullTests.Umount(dir);
            return null;
        }
        finally
        {
            Directory.Delete(dir);
        }
    });

    public TmpfsFactAttribute()
    {
        if (s_skipReason.Value is { } reason)
        {
            Skip = reason;
        }
    }
}

/// <summary>
/// The journal's file system is full (ENOSPC): no mutation proceeds without its undo record. The op
/// that cannot be journaled (every op of a failed group commit) fails with ENOSPC in the app, scoord
/// warns once, and once space is back a rollback gives exactly the checkpoint's tree.
/// </summary>
public sealed class JournalFullTests
{
    // Four processes overwrite 4 MiB each (16 MiB of pre-images) into a 3 MiB journal file system.
    private const string Writers = """
import os, sys
def work(i):
    n = 0
    try:
        # inside the try: a worker that starts after the others filled the journal is refused at its open
        fd = os.open("w%d" % i, os.O_WRONLY)
        for off in range(0, 4 << 20, 65536):
            os.pwrite(fd, b"%d" % i * 65536, off)
            n += 1
    except OSError as e:
        os.write(2, b"worker %d errno %d after %d\n" % (i, e.errno, n))
    try:
        open("after%d" % i, "w").write("x")
        os.write(2, b"worker %d created after%d\n" % (i, i))
    except OSError as e:
        os.write(2, b"worker %d create errno %d\n" % (i, e.errno))
pids = []
for i in range(4):
    pid = os.fork()
    if pid == 0:
        work(i)
        os._exit(0)
    pids.append(pid)
for p in pids:
    os.waitpid(p, 0)
""";

    [TmpfsFact]
    public void JournalOnAFullFileSystem_RefusesTheOpsItCannotJournal_WithEnospc_AndRollbackStaysExact()
    {
        using var t = new TracedRun();
        Directory.CreateDirectory(t.Journal);
        Assert.True(Mount(t.Journal, "size=3m", out string why), why);

        try
        {
            CliResult setup = t.Sh(FaultSupport.Setup);
            Assert.True(setup.ExitCode == 0, setup.ToString());
            var rnd = new Random(6);
            for (int i = 0; i < 4; i++)
            {
                byte[] data = new byte[4 << 20];
                rnd.NextBytes(data);
                File.WriteAllBytes(t.Path("w" + i), data);
            }

            Assert.Equal(0, t.Cli.Run("checkpoint").ExitCode);
            TreeSnapshot atCheckpoint = TreeSnapshot.Take(t.Tree.Path);

            CliResult run = t.Run("python3", "-c", Writers);
            Assert.True(run.ExitCode == 0, run.ToString());
            string[] warnings = run.StderrLines.Where(l => l.Contains("journal cannot be written", StringComparison.Ordinal)).ToArray();
            Assert.True(warnings.Length == 1, run.ToString());
            Assert.Contains("ENOSPC", warnings[0]);
            for (int i = 0; i < 4; i++)
            {
                // Every writer was stopped by ENOSPC (28) before the end of its file, and could not create a file.
                Assert.True(run.Stderr.Contains($"worker {i} errno 28 after", StringComparison.Ordinal), $"worker {i} was not stopped by ENOSPC: {run}");
                Assert.True(run.Stderr.Contains($"worker {i} create errno 28", StringComparison.Ordinal), $"worker {i} could create a file: {run}");
                Assert.False(File.Exists(t.Path("after" + i)));
            }

            // Space is back: the journal reopens and the rollback restores every byte the writers changed.
            Assert.True(Remount(t.Journal, "size=256m"), "remount");
            IReadOnlyList<LogLine> log = t.Log();
            Assert.Contains(log, l => l.Op == "pwrite64" && l.Status == "completed");
            FaultSupport.AssertRollbackRestores(t, atCheckpoint);
        }
        finally
        {
            Umount(t.Journal);
        }
    }

    internal static bool Mount(string dir, string options, out string why)
    {
        (int code, string err) = Sh("mount", "-t", "tmpfs", "-o", options, "tmpfs", dir);
        why = err.Trim();
        return code == 0;
    }

    internal static bool Remount(string dir, string options) => Sh("mount", "-o", "remount," + options, dir).Code == 0;

    internal static void Umount(string dir) => Sh("umount", "-l", dir);

    private static (int Code, string Err) Sh(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        try
        {
            using Process p = Process.Start(psi)!;
            string err = p.StandardError.ReadToEnd();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, err);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }
    }
}
