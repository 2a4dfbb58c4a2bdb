using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Scoord.Tests.Support;

namespace Scoord.Tests.FastPath;

/// <summary>
/// Journal before syscall, and nothing lost: the app killed between a hook's INTENT and its syscall, or
/// between the syscall and the DONE; scoord killed while the rings hold records not yet in the journal;
/// a checkpoint barrier while every thread writes as fast as it can through the rings.
/// </summary>
public sealed class FastPathCrashTests
{
    private static Process Start(FastPathRun f, string[] args, Dictionary<string, string>? env = null)
    {
        var e = new Dictionary<string, string>(env ?? [], StringComparer.Ordinal);
        ProcessStartInfo psi = ScoordProcess.StartInfo(f.Run.Journal, f.Run.Tree.Path, args);
        psi.Environment.Remove("SCOORD_NO_FASTPATH");
        psi.Environment["SCOORD_FASTPATH"] = "1";
        foreach ((string k, string v) in e)
        {
            psi.Environment[k] = v;
        }

        return Process.Start(psi)!;
    }

    private static void WaitFor(Func<bool> condition, string what)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), "timed out waiting for " + what);
            Thread.Sleep(20);
        }
    }

    [Fact]
    public void AppKilledAfterTheIntent_BeforeTheSyscall_LeavesAPendingIntent_AndNothingChanged()
    {
        using var f = new FastPathRun();
        File.WriteAllText(f.Path("keep.txt"), "original");
        string exe = Tracing.TracedRun.Compile(f.Run.JournalTree, "truncator", """
            #include <fcntl.h>
            #include <unistd.h>
            int main(void) { int fd = open("keep.txt", O_WRONLY | O_TRUNC); write(fd, "changed", 7); return 0; }
            """);
        f.Run.Cli.Environment["SCOORD_FAULT"] = "hook-after-intent@1";
        // The program's first journaled call is the truncating open: the process dies right after its INTENT.
        CliResult run = f.Run.Cli.Run("run", "--", exe);
        Assert.Equal(128 + 9, run.ExitCode);
        f.Run.Cli.Environment.Remove("SCOORD_FAULT");
        LogLine open = f.Log().Single(l => l.Op == "openat" && l.Path == f.Path("keep.txt"));
        Assert.Equal("pending", open.Status); // the INTENT was in the ring before the syscall (which never ran)
        Assert.Equal("original", File.ReadAllText(f.Path("keep.txt")));
    }

    [Fact]
    public void AppKilledAfterTheSyscall_BeforeItsDone_LeavesAPendingIntentWithItsUndoData_AndRollbackRestores()
    {
        using var f = new FastPathRun();
        File.WriteAllText(f.Path("keep.txt"), "original text");
        CliResult ckpt = f.Run.Cli.Run("checkpoint", "--name", "before");
        Assert.True(ckpt.ExitCode == 0, ckpt.ToString());
        string exe = Tracing.TracedRun.Compile(f.Run.JournalTree, "overwriter", """
            #include <fcntl.h>
            #include <unistd.h>
            int main(void) { int fd = open("keep.txt", O_RDWR); pwrite(fd, "CHANGED", 7, 0); return 0; }
            """);
        f.Run.Cli.Environment["SCOORD_FAULT"] = "hook-after-syscall@2";
        // Call 1 (the open) completes; call 2 (the pwrite over existing bytes) runs and the process dies before its DONE.
        CliResult run = f.Run.Cli.Run("run", "--", exe);
        Assert.Equal(128 + 9, run.ExitCode);
        f.Run.Cli.Environment.Remove("SCOORD_FAULT");
        Assert.Equal("CHANGEDl text", File.ReadAllText(f.Path("keep.txt")));
        LogLine write = f.Log().Single(l => l.Op == "pwrite64" && l.Path == f.Path("keep.txt"));
        Assert.Equal("pending", write.Status);
        CliResult rollback = f.Run.Cli.Run("rollback", "before");
        Assert.True(rollback.ExitCode == 0, rollback.ToString());
        Assert.Equal("original text", File.ReadAllText(f.Path("keep.txt"))); // the pre-image came with the INTENT
    }

    [Fact]
    public void ScoordKilled_WithRecordsInTheRings_LosesNothingTheHooksLetThrough()
    {
        using var f = new FastPathRun();
        // scoord dies at its drain's 3rd commit; the app (killed with it) appended lines until then.
        const string Code = "import os\nfd = os.open('lines', os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)\ni = 0\nwhile True:\n    i += 1\n    os.write(fd, b'%d\\n' % i)\n";
        using Process scoord = Start(f, ["run", "--", "python3", "-c", Code], new() { ["SCOORD_FAULT"] = "drain-before-commit@3" });
        Assert.True(scoord.WaitForExit(60_000), "scoord died at its fault point");
        Assert.Equal(137, scoord.ExitCode);
        WaitFor(() => !Scoord.Journal.JournalStore.IsCoordinatorRunning(f.Run.Journal, out _), "the journal's lock to go with scoord");
        Thread.Sleep(300);
        Assert.True(File.Exists(Path.Combine(f.Run.Journal, "fastpath", "ring")), "the ring stays for recovery");
        int lines = File.ReadAllLines(f.Path("lines")).Length;

        // The next open applies the ring: every line in the file is a write in the journal.
        IReadOnlyList<LogLine> log = f.Log();
        int writes = log.Count(l => l.Op == "write" && l.Path == f.Path("lines"));
        Assert.True(writes >= lines, $"{lines} lines were written, the journal has {writes} writes");
        Assert.True(writes <= lines + 1, $"at most the call in flight is journaled without its bytes ({writes} writes, {lines} lines)");
        Assert.False(File.Exists(Path.Combine(f.Run.Journal, "fastpath", "ring")), "recovered rings are removed");
        CliResult fsck = f.Run.Cli.Run("fsck");
        Assert.True(fsck.ExitCode == 0, fsck.ToString());
    }

    [Fact]
    public void ALeftoverRing_IsReportedByFsck_DamagedRecordsToo_AndRecoveredByTheNextOpen()
    {
        using var f = new FastPathRun();
        const string Code = "import os\nfd = os.open('lines', os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)\nwhile True:\n    os.write(fd, b'line\\n')\n";
        using Process scoord = Start(f, ["run", "--", "python3", "-c", Code], new() { ["SCOORD_FAULT"] = "drain-before-commit@2" });
        Assert.True(scoord.WaitForExit(60_000));
        WaitFor(() => !Scoord.Journal.JournalStore.IsCoordinatorRunning(f.Run.Journal, out _), "the journal's lock to go with scoord");

        CliResult fsck = f.Run.Cli.Run("fsck");
        Assert.True(fsck.ExitCode == 0, fsck.ToString());
        Assert.Contains("fast path ring of a run that did not end:", fsck.Stdout, StringComparison.Ordinal);

        // Scribble on the first record left in a slot (the app can): fsck calls it damaged, recovery skips it.
        string ring = Path.Combine(f.Run.Journal, "fastpath", "ring");
        using (var fs = new FileStream(ring, FileMode.Open, FileAccess.ReadWrite))
        {
            var b = new byte[16];
            for (uint i = 0; i < Scoord.Journal.Ring.RingLayout.SlotCount; i++)
            {
                long slot = (long)Scoord.Journal.Ring.RingLayout.SlotOffset + ((long)i * Scoord.Journal.Ring.RingLayout.SlotSize);
                fs.Position = slot + 16; // head, tail
                fs.ReadExactly(b);
                ulong head = BitConverter.ToUInt64(b), tail = BitConverter.ToUInt64(b, 8);
                if (head == tail)
                {
                    continue;
                }

                // The first INTENT from the tail on: its path length now runs past the record.
                for (ulong pos = tail; pos < head;)
                {
                    long at = slot + Scoord.Journal.Ring.RingLayout.SlotHeaderSize + (long)(pos % Scoord.Journal.Ring.RingLayout.RingSize);
                    fs.Position = at;
                    fs.ReadExactly(b);
                    uint len = BitConverter.ToUInt32(b);
                    if (BitConverter.ToUInt16(b, 4) == Scoord.Journal.Ring.RingLayout.RecordIntent)
                    {
                        fs.Position = at + 16 + 84;
                        fs.Write(BitConverter.GetBytes(0x7fffffffu));
                        break;
                    }

                    pos += len;
                }

                break;
            }
        }

        fsck = f.Run.Cli.Run("fsck");
        Assert.Equal(1, fsck.ExitCode);
        Assert.Contains("damaged: fastpath/ring slot ", fsck.Stdout, StringComparison.Ordinal);
        CliResult log = f.Run.Cli.Run("log");
        Assert.True(log.ExitCode == 0, log.ToString());
        Assert.False(File.Exists(ring), "the next open applied the ring and removed it");
        fsck = f.Run.Cli.Run("fsck");
        Assert.True(fsck.ExitCode == 0, fsck.ToString());
    }

    [Fact]
    public void CheckpointBarrier_SeesEveryRingDrained_AndNoCallBetweenIntentAndDone()
    {
        using var f = new FastPathRun();
        // Four threads append numbered lines to four files as fast as they can, through the hooks.
        const string Code = """
            import os, threading
            def run(n):
                fd = os.open('t%d.log' % n, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                i = 0
                while not os.path.exists('release'):
                    i += 1
                    os.write(fd, b'%d\n' % i)
            ts = [threading.Thread(target=run, args=(n,)) for n in range(4)]
            [t.start() for t in ts]
            [t.join() for t in ts]
            """;
        using Process scoord = Start(f, ["run", "--", "python3", "-c", Code]);
        WaitFor(() => Enumerable.Range(0, 4).All(n => File.Exists(f.Path($"t{n}.log")) && new FileInfo(f.Path($"t{n}.log")).Length > 100), "the writers");
        var names = new List<string>();
        for (int c = 0; c < 5; c++)
        {
            CliResult ckpt = f.Run.Cli.Run("checkpoint", "--name", "c" + c.ToString(CultureInfo.InvariantCulture));
            Assert.True(ckpt.ExitCode == 0, ckpt.ToString());
            names.Add("c" + c.ToString(CultureInfo.InvariantCulture));
            Thread.Sleep(100);
        }

        File.WriteAllText(f.Path("release"), "");
        Assert.True(scoord.WaitForExit(60_000));
        Assert.Equal(0, scoord.ExitCode);

        IReadOnlyList<LogLine> log = f.Log();
        CliResult list = f.Run.Cli.Run("checkpoints", "--json");
        List<ulong> seqs = list.StdoutLines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("seq").GetUInt64()).ToList();
        Assert.Equal(5, seqs.Count);
        foreach (ulong seq in seqs)
        {
            // No call was between its INTENT and its DONE at the checkpoint: everything before it completed.
            Assert.DoesNotContain(log, l => l.Seq < seq && l.Status == "pending");
        }

        // Nothing escaped the journal: each file holds one line per journaled write.
        for (int n = 0; n < 4; n++)
        {
            string path = f.Path($"t{n}.log");
            int journaled = log.Count(l => l.Op == "write" && l.Path == path);
            int lines = File.ReadAllLines(path).Length;
            Assert.True(journaled == lines, $"t{n}.log: {lines} lines, {journaled} writes in the journal");
        }

        // Every ring was drained, and no call numbered after a checkpoint was captured in the epoch before it:
        // rolling back to the middle checkpoint gives each file exactly its appends journaled before it.
        ulong middle = seqs[2];
        int[] before = Enumerable.Range(0, 4).Select(n => log.Count(l => l.Op == "write" && l.Path == f.Path($"t{n}.log") && l.Seq < middle)).ToArray();
        Assert.True(before.All(b => b > 0), "every thread wrote before the checkpoint");
        CliResult rollback = f.Run.Cli.Run("rollback", "c2");
        Assert.True(rollback.ExitCode == 0, rollback.ToString());
        for (int n = 0; n < 4; n++)
        {
            Assert.Equal(Enumerable.Range(1, before[n]).Select(i => i.ToString(CultureInfo.InvariantCulture)), File.ReadAllLines(f.Path($"t{n}.log")));
        }
    }
}
