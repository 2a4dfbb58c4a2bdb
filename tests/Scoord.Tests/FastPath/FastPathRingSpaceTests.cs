using Scoord.Tests.Reliability;
using Scoord.Tests.Support;
using Scoord.Tests.Tracing;

namespace Scoord.Tests.FastPath;

/// <summary>
/// The fast path's ring where the journal's file system has no room for it: the run still works, the ptrace
/// way (in the FastPath namespace: CI's ptrace-only pass, which has no ring at all, leaves it out).
/// </summary>
public sealed class FastPathRingSpaceTests
{
    [TmpfsFact]
    public void TheFastPathsRingDoesNotFitTheJournalsFileSystem_TheRunGoesThePtraceWay_AndIsJournaled()
    {
        // The ring's fixed part (4.6 MiB) is reserved when the run starts: in a 3 MiB journal file system
        // that fails with ENOSPC there (not as a SIGBUS in the app later), and the run goes the ptrace way.
        using var t = new TracedRun();
        Directory.CreateDirectory(t.Journal);
        Assert.True(JournalFullTests.Mount(t.Journal, "size=3m", out string why), why);
        try
        {
            CliResult run = t.Cli.Run("-v", "run", "--", "sh", "-c", "echo hi > f && echo more >> f");
            Assert.True(run.ExitCode == 0, run.ToString());
            string off = Assert.Single(run.StderrLines, l => l.Contains("fast path off", StringComparison.Ordinal));
            Assert.Contains("cannot allocate the fast path's ring", off, StringComparison.Ordinal);
            Assert.Contains("ENOSPC", off, StringComparison.Ordinal);
            Assert.Equal("hi\nmore\n", File.ReadAllText(t.Path("f")));
            Assert.Equal(2, t.Log().Count(l => l.Op == "write" && l.Path == t.Path("f") && l.Status == "completed"));
            Assert.False(File.Exists(Path.Combine(t.Journal, "fastpath", "ring")), "the ring that could not be allocated is removed");
        }
        finally
        {
            JournalFullTests.Umount(t.Journal);
        }
    }
}
