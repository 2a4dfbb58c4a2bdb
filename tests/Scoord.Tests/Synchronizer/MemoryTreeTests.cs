using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Scoord.Tests.Support;
using Scoord.Tests.Tracing;
using Xunit.Abstractions;

namespace Scoord.Tests.Synchronizer;

/// <summary>
/// Memory checkpoints of a process tree (`--memory scoord`): a shell running `producer | consumer > out.txt`, where
/// both programs keep their state only in memory, is checkpointed while bytes wait in the pipe, goes on, is killed
/// with SIGKILL, and `scoord restore` brings back the same tree (same pids, same parents) with the pipe's unread
/// bytes; out.txt then equals an uninterrupted run's, byte for byte.
/// </summary>
public sealed class MemoryTreeTests
{
    /// <summary>32-byte records "i value" from a generator kept in memory (and a heap it scribbles on), one every PAUSE ns.</summary>
    internal const string Producer = """
        #define _GNU_SOURCE
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <time.h>
        #include <unistd.h>
        int main(int argc, char **argv) {
            (void)argc;
            int n = atoi(argv[1]);
            long pause_ns = atol(argv[2]);
            char *heap = calloc(1, 1 << 16);
            unsigned long acc = 1;
            for (int i = 0; i < n; i++) {
                acc = acc * 6364136223846793005UL + 1442695040888963407UL;
                heap[(acc >> 20) % (1 << 16)] += (char)acc;
                char rec[32];
                memset(rec, ' ', sizeof rec);
                int k = snprintf(rec, sizeof rec, "%d %lu %d", i, acc % 1000000007UL, heap[i % (1 << 16)]);
                rec[k] = ' ';
                rec[31] = '\n';
                for (size_t done = 0; done < sizeof rec;) {
                    ssize_t w = write(1, rec + done, sizeof rec - done);
                    if (w <= 0) return 2;
                    done += (size_t)w;
                }
                struct timespec ts = {0, pause_ns};
                nanosleep(&ts, NULL);
            }
            return 0;
        }
        """;

    /// <summary>Reads the records one read(2) at a time (so the rest stays in the pipe), keeps a running sum in memory, writes a line per record.</summary>
    internal const string Consumer = """
        #define _GNU_SOURCE
        #include <errno.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <time.h>
        #include <unistd.h>
        int main(int argc, char **argv) {
            (void)argc;
            long pause_ns = atol(argv[1]);
            unsigned long sum = 0;
            long count = 0;
            char rec[32];
            for (;;) {
                size_t got = 0;
                while (got < sizeof rec) {
                    ssize_t r = read(0, rec + got, sizeof rec - got);
                    if (r == 0) goto end;
                    if (r < 0) { if (errno == EINTR) continue; return 2; }
                    got += (size_t)r;
                }
                for (int k = 0; k < 31; k++) sum = sum * 131 + (unsigned char)rec[k];
                count++;
                char line[96];
                int m = snprintf(line, sizeof line, "%ld %.31s %lu\n", count, rec, sum);
                if (write(1, line, (size_t)m) != m) return 3;
                struct timespec ts = {0, pause_ns};
                nanosleep(&ts, NULL);
            }
        end:
            dprintf(1, "end %ld %lu\n", count, sum);
            return 0;
        }
        """;

    internal const string CloseFds = """
        #define _GNU_SOURCE
        #include <sys/syscall.h>
        #include <unistd.h>
        int main(int argc, char **argv) { (void)argc; syscall(SYS_close_range, 3, ~0U, 0); execvp(argv[1], argv + 1); return 127; }
        """;

    private const int Records = 300;
    private readonly ITestOutputHelper _output;

    public MemoryTreeTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public void ShellPipeline_CheckpointedWithBytesInThePipe_KilledAndRestored_IsTheSameTreeAndEndsWithTheOutputOfAnUninterruptedRun()
    {
        using var t = new TracedRun();
        string producer = TracedRun.Compile(t.Tree, "producer", Producer);
        string consumer = TracedRun.Compile(t.Tree, "consumer", Consumer);
        string closeFds = TracedRun.Compile(t.Tree, "closefds", CloseFds);
        string reference = ReferenceOutput(producer, consumer);
        string pipeline = $"{producer} {Records} 10000000 | {consumer} 30000000 > out.txt";
        int linesAtKill;

        using (BackgroundScoord scoord = SyncSupport.Start(t, "run", "--memory", "scoord", "--", closeFds, "sh", "-c", pipeline))
        {
            SyncSupport.WaitFor(() => Lines(t) >= 30 || scoord.HasExited, "the pipeline to run");
            CliResult ck = t.Cli.Run("checkpoint");
            Assert.True(ck.ExitCode == 0, ck + "\n" + scoord);
            int at = Lines(t);
            SyncSupport.WaitFor(() => Lines(t) >= at + 30 || scoord.HasExited, "the pipeline to go on");
            Assert.False(scoord.HasExited, "the pipeline ended before the kill\n" + scoord);
            linesAtKill = Lines(t);
            scoord.Kill();
            Assert.True(scoord.WaitForExit(TimeSpan.FromSeconds(30)), "scoord did not die");
        }

        JsonElement image = JsonDocument.Parse(t.Cli.Run("image", "--json", "1").Stdout).RootElement;
        _output.WriteLine(image.ToString());
        var tree = new Dictionary<int, int>();
        int consumerPid = 0;
        foreach (JsonElement p in image.GetProperty("processes").EnumerateArray())
        {
            tree[p.GetProperty("pid").GetInt32()] = p.GetProperty("ppid").GetInt32();
            if (p.GetProperty("exe").GetString()!.EndsWith("/consumer", StringComparison.Ordinal))
            {
                consumerPid = p.GetProperty("pid").GetInt32();
            }
        }

        Assert.Equal(3, tree.Count);
        int shell = image.GetProperty("main_pid").GetInt32();
        Assert.Equal(0, tree[shell]);
        Assert.All(tree.Where(kv => kv.Key != shell), kv => Assert.Equal(shell, kv.Value));
        JsonElement pipe = Assert.Single(image.GetProperty("pipes").EnumerateArray());
        Assert.True(pipe.GetProperty("unread_bytes").GetInt32() >= 32, "no record was waiting in the pipe at the checkpoint: " + pipe);
        foreach (int pid in tree.Keys)
        {
            SyncSupport.WaitFor(() => !Directory.Exists($"/proc/{pid}"), $"pid {pid} to die with scoord");
        }

        ulong lastSeq = JsonDocument.Parse(t.Cli.Run("status", "--json").Stdout).RootElement.GetProperty("last_seq").GetUInt64();
        using (BackgroundScoord restored = SyncSupport.Start(t, "restore", "1"))
        {
            // The same pids, with the same parents: the shell scoord's child, the two programs the shell's.
            SyncSupport.WaitFor(() => tree.Keys.All(p => Directory.Exists($"/proc/{p}")) || restored.HasExited, "the tree to be restored");
            Assert.False(restored.HasExited, "the restore ended before the tree was seen\n" + restored);
            foreach ((int pid, int ppid) in tree)
            {
                Assert.Equal(ppid == 0 ? restored.Pid : ppid, ParentOf(pid));
            }

            // The restored tree can be checkpointed again (its descriptors, filters and sessions are what a dump accepts);
            // a producer that ends just then is an unreaped child for a moment ("try again").
            CliResult again = t.Cli.Run("checkpoint");
            for (int i = 0; i < 5 && again.ExitCode != 0 && again.Stderr.Contains("try again", StringComparison.Ordinal); i++)
            {
                Thread.Sleep(100);
                again = t.Cli.Run("checkpoint");
            }

            Assert.True(again.ExitCode == 0, again + "\n" + restored);

            Assert.True(restored.WaitForExit(TimeSpan.FromSeconds(60)), "the restored pipeline did not end\n" + restored);
            Assert.True(restored.ExitCode == 0, restored.ToString());
        }

        Assert.True(reference == File.ReadAllText(t.Path("out.txt")), "out.txt differs from the uninterrupted run's");

        // The restored consumer (a child of the restored shell, writing through its stdio guard) is journaled again:
        // every line from its checkpoint on, more than the lines the kill had left beyond the end.
        CliResult log = t.Cli.Run("log", "--json", "--pid", consumerPid.ToString(CultureInfo.InvariantCulture), "--op", "write");
        Assert.True(log.ExitCode == 0, log.ToString());
        int after = log.StdoutLines.Count(l => JsonDocument.Parse(l).RootElement.GetProperty("seq").GetUInt64() > lastSeq);
        _output.WriteLine($"{after} writes of the consumer journaled after the restore; {linesAtKill} lines at the kill");
        Assert.True(after > Records + 1 - linesAtKill, $"only {after} writes of the restored consumer journaled");
    }

    /// <summary>
    /// A python3 parent and the child it forked (in a session of its own), joined by a pipe made with os.pipe(), or
    /// with a third argument "fifo" by a FIFO made with os.mkfifo; state only in memory.
    /// </summary>
    internal const string PythonTree = """
        import os, sys, time
        os.closerange(3, 65536)
        n, pause = int(sys.argv[1]), float(sys.argv[2])
        fifo = len(sys.argv) > 3
        if fifo:
            os.mkfifo("records.fifo")
            r, w = -1, -1
        else:
            r, w = os.pipe()
        child = os.fork()
        if child == 0:
            if fifo:
                w = os.open("records.fifo", os.O_WRONLY)
            else:
                os.close(r)
            os.setsid()
            acc = 7
            for i in range(n):
                acc = (acc * 48271) % 2147483647
                os.write(w, b"%08d %010d\n" % (i, acc))
                time.sleep(pause)
            os._exit(0)
        if fifo:
            r = os.open("records.fifo", os.O_RDONLY)
        else:
            os.close(w)
        with open("app.pid", "w") as f:
            f.write("%d %d\n" % (os.getpid(), child))
        total = 0
        with open("out.txt", "a") as out:
            while True:
                rec = b""
                while len(rec) < 20:
                    b = os.read(r, 20 - len(rec))
                    if not b:
                        break
                    rec += b
                if len(rec) < 20:
                    break
                total = (total * 1000003 + int(rec.split()[1])) % (1 << 61)
                out.write("%s %d\n" % (rec.decode().strip(), total))
                out.flush()
                time.sleep(pause * 3)
            _, status = os.waitpid(child, 0)
            out.write("end %d %d\n" % (total, status))
        """;

    [Fact]
    public void PythonParentAndForkedChildInItsOwnSession_JoinedByAPipe_KilledAndRestored_EndsWithTheOutputOfAnUninterruptedRun() => PythonTreeRestored([]);

    [Fact]
    public void PythonParentAndForkedChild_JoinedByAFifo_KilledAndRestored_EndsWithTheOutputOfAnUninterruptedRun() => PythonTreeRestored(["fifo"]);

    private void PythonTreeRestored(string[] extra)
    {
        using var t = new TracedRun();
        File.WriteAllText(t.Path("tree.py"), PythonTree);
        string reference;
        using (var tree = new TempTree("scoord-reference-"))
        {
            File.WriteAllText(tree.Combine("tree.py"), PythonTree);
            var psi = new ProcessStartInfo(SyncSupport.Python) { WorkingDirectory = tree.Path, UseShellExecute = false };
            foreach (string a in (string[])["-B", "tree.py", "150", "0", .. extra])
            {
                psi.ArgumentList.Add(a);
            }

            using Process p = Process.Start(psi)!;
            p.WaitForExit();
            Assert.Equal(0, p.ExitCode);
            reference = File.ReadAllText(tree.Combine("out.txt"));
        }

        int parent, child;
        using (BackgroundScoord scoord = SyncSupport.Start(t, ["run", "--memory", "scoord", "--", SyncSupport.Python, "-B", "tree.py", "150", "0.01", .. extra]))
        {
            SyncSupport.WaitFor(() => Lines(t) >= 20 || scoord.HasExited, "the parent to write");
            CliResult ck = t.Cli.Run("checkpoint");
            Assert.True(ck.ExitCode == 0, ck + "\n" + scoord);
            int at = Lines(t);
            SyncSupport.WaitFor(() => Lines(t) >= at + 20 || scoord.HasExited, "the parent to go on");
            Assert.False(scoord.HasExited, "the program ended before the kill\n" + scoord);
            string[] pids = File.ReadAllText(t.Path("app.pid")).Split(' ', StringSplitOptions.TrimEntries);
            parent = int.Parse(pids[0], CultureInfo.InvariantCulture);
            child = int.Parse(pids[1], CultureInfo.InvariantCulture);
            scoord.Kill();
            Assert.True(scoord.WaitForExit(TimeSpan.FromSeconds(30)), "scoord did not die");
            SyncSupport.WaitFor(() => !Directory.Exists($"/proc/{parent}") && !Directory.Exists($"/proc/{child}"), "the tree to die with scoord");
        }

        CliResult image = t.Cli.Run("image", "1");
        _output.WriteLine(image.Stdout);
        Assert.Contains($"pid {child} ", image.Stdout, StringComparison.Ordinal);
        Assert.Contains($"parent {parent}:", image.Stdout, StringComparison.Ordinal);
        Assert.Matches(extra.Length > 0 ? @"pipe 1 \(FIFO /[^)]*/records\.fifo\): [1-9]\d* unread byte" : @"pipe 1: [1-9]\d* unread byte", image.Stdout);
        CliResult restore = t.Cli.Run("restore", "1");
        Assert.True(restore.ExitCode == 0, restore.ToString());
        Assert.True(reference == File.ReadAllText(t.Path("out.txt")), "out.txt differs from the uninterrupted run's");
    }

    /// <summary>A python3 parent and two children in a process group of their own, led by the first; each child appends to its own file.</summary>
    internal const string PythonGroup = """
        import os, sys, time
        os.closerange(3, 65536)
        n, pause = int(sys.argv[1]), float(sys.argv[2])
        def work(name, seed):
            acc = seed
            with open(name, "a") as f:
                for i in range(n):
                    acc = (acc * 69069 + 1) % 4294967296
                    f.write("%d %d\n" % (i, acc))
                    f.flush()
                    time.sleep(pause)
            os._exit(0)
        a = os.fork()
        if a == 0:
            time.sleep(pause)
            work("a.txt", 1)
        b = os.fork()
        if b == 0:
            time.sleep(pause)
            work("b.txt", 2)
        os.setpgid(a, a)
        os.setpgid(b, a)
        with open("app.pid", "w") as f:
            f.write("%d %d %d\n" % (os.getpid(), a, b))
        for c in (a, b):
            _, status = os.waitpid(c, 0)
            assert status == 0, status
        """;

    [Fact]
    public void ProcessGroupLedByOneChild_WithItsSibling_KilledAndRestored_IsTheSameGroupAndEndsWithTheOutputsOfAnUninterruptedRun()
    {
        using var t = new TracedRun();
        File.WriteAllText(t.Path("group.py"), PythonGroup);
        string refA, refB;
        using (var tree = new TempTree("scoord-reference-"))
        {
            File.WriteAllText(tree.Combine("group.py"), PythonGroup);
            var psi = new ProcessStartInfo(SyncSupport.Python) { WorkingDirectory = tree.Path, UseShellExecute = false };
            foreach (string a in (string[])["-B", "group.py", "150", "0"])
            {
                psi.ArgumentList.Add(a);
            }

            using Process p = Process.Start(psi)!;
            p.WaitForExit();
            Assert.Equal(0, p.ExitCode);
            refA = File.ReadAllText(tree.Combine("a.txt"));
            refB = File.ReadAllText(tree.Combine("b.txt"));
        }

        int[] pids;
        using (BackgroundScoord scoord = SyncSupport.Start(t, "run", "--memory", "scoord", "--", SyncSupport.Python, "-B", "group.py", "150", "0.02"))
        {
            SyncSupport.WaitFor(() => (File.Exists(t.Path("app.pid")) && File.ReadAllText(t.Path("app.pid")).EndsWith('\n') && Lines(t, "a.txt") >= 20) || scoord.HasExited, "the children to write");
            pids = File.ReadAllText(t.Path("app.pid")).Split(' ', StringSplitOptions.TrimEntries).Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray();
            Assert.Equal(pids[1], GroupOf(pids[2]));
            CliResult ck = t.Cli.Run("checkpoint");
            Assert.True(ck.ExitCode == 0, ck + "\n" + scoord);
            int at = Lines(t, "a.txt");
            SyncSupport.WaitFor(() => Lines(t, "a.txt") >= at + 20 || scoord.HasExited, "the children to go on");
            Assert.False(scoord.HasExited, "the program ended before the kill\n" + scoord);
            scoord.Kill();
            Assert.True(scoord.WaitForExit(TimeSpan.FromSeconds(30)), "scoord did not die");
            SyncSupport.WaitFor(() => pids.All(p => !Directory.Exists($"/proc/{p}")), "the tree to die with scoord");
        }

        using (BackgroundScoord restored = SyncSupport.Start(t, "restore", "1"))
        {
            // Rebuilt and running again: the children write (the files were rolled back to the checkpoint first).
            SyncSupport.WaitFor(() => pids.All(p => Directory.Exists($"/proc/{p}")) || restored.HasExited, "the tree to be restored");
            int rolledBack = Lines(t, "a.txt");
            SyncSupport.WaitFor(() => Lines(t, "a.txt") > rolledBack + 2 || restored.HasExited, "the restored tree to run");
            Assert.False(restored.HasExited, "the restore ended before the tree was seen\n" + restored);
            Assert.Equal(pids[1], GroupOf(pids[1]));
            Assert.Equal(pids[1], GroupOf(pids[2]));
            Assert.Equal(GroupOf(restored.Pid), GroupOf(pids[0]));
            Assert.True(restored.WaitForExit(TimeSpan.FromSeconds(60)), "the restored tree did not end\n" + restored);
            Assert.True(restored.ExitCode == 0, restored.ToString());
        }

        Assert.True(refA == File.ReadAllText(t.Path("a.txt")), "a.txt differs from the uninterrupted run's");
        Assert.True(refB == File.ReadAllText(t.Path("b.txt")), "b.txt differs from the uninterrupted run's");
    }

    private static int GroupOf(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[2], CultureInfo.InvariantCulture);
    }

    private static int Lines(TracedRun t, string name)
    {
        try
        {
            return File.ReadAllLines(t.Path(name)).Length;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>
    /// A process whose parent made a new session after forking it stays in the old session: a restore could not
    /// put it there again (a session is entered only by birth or setsid), so the checkpoint is refused in one line.
    /// </summary>
    [Fact]
    public void ChildLeftInItsParentsFormerSession_RefusesTheCheckpoint_WithOneLine()
    {
        const string program = """
            import os, time
            os.closerange(3, 65536)
            child = os.fork()
            if child == 0:
                grandchild = os.fork()
                if grandchild == 0:
                    time.sleep(60)
                    os._exit(0)
                os.setsid()
                with open("app.pid", "w") as f:
                    f.write("%d %d\n" % (os.getpid(), grandchild))
                time.sleep(60)
                os._exit(0)
            os.waitpid(child, 0)
            """;
        using var t = new TracedRun();
        File.WriteAllText(t.Path("session.py"), program);
        using BackgroundScoord scoord = SyncSupport.Start(t, "run", "--memory", "scoord", "--", SyncSupport.Python, "-B", "session.py");
        try
        {
            SyncSupport.WaitFor(() => File.Exists(t.Path("app.pid")) && File.ReadAllText(t.Path("app.pid")).EndsWith('\n'), "the child to make its session");
            string[] f = File.ReadAllText(t.Path("app.pid")).Split(' ', StringSplitOptions.TrimEntries);
            CliResult ck = t.Cli.Run("checkpoint");
            Assert.NotEqual(0, ck.ExitCode);
            Assert.Matches($@"^scoord: pid {f[1]} \(python3[^)]*\): it is in scoord's session and its parent {f[0]} in another: a restore cannot put a process into a session it was not born in\n$", ck.Stderr);
            Assert.Empty(SyncSupport.Checkpoints(t));
        }
        finally
        {
            scoord.Kill();
        }
    }

    /// <summary>A pipe of the tree that a process outside it also holds refuses the checkpoint (its other end could not be given back).</summary>
    [Fact]
    public void PipeAlsoHeldOutsideTheTree_RefusesTheCheckpoint_WithOneLineNamingProcessAndPipe()
    {
        const string program = """
            import os, time
            os.closerange(3, 65536)
            r, w = os.pipe()
            with open("app.pid", "w") as f:
                f.write("%d %d\n" % (os.getpid(), r))
            time.sleep(60)
            """;
        const string grabber = """
            import ctypes, os, sys, time
            libc = ctypes.CDLL(None, use_errno=True)
            pidfd = os.pidfd_open(int(sys.argv[1]))
            fd = libc.syscall(438, pidfd, int(sys.argv[2]), 0)  # pidfd_getfd
            print(fd, flush=True)
            time.sleep(60)
            """;
        using var t = new TracedRun();
        File.WriteAllText(t.Path("pipe.py"), program);
        using BackgroundScoord scoord = SyncSupport.Start(t, "run", "--memory", "scoord", "--", SyncSupport.Python, "-B", "pipe.py");
        SyncSupport.WaitFor(() => File.Exists(t.Path("app.pid")) && File.ReadAllText(t.Path("app.pid")).EndsWith('\n'), "the program to make its pipe");
        string[] f = File.ReadAllText(t.Path("app.pid")).Split(' ', StringSplitOptions.TrimEntries);
        int pid = int.Parse(f[0], CultureInfo.InvariantCulture);
        var psi = new ProcessStartInfo(SyncSupport.Python) { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string a in (string[])["-c", grabber, f[0], f[1]])
        {
            psi.ArgumentList.Add(a);
        }

        using Process outside = Process.Start(psi)!;
        try
        {
            Assert.True(int.Parse(outside.StandardOutput.ReadLine()!, CultureInfo.InvariantCulture) >= 0, "pidfd_getfd failed");
            CliResult ck = t.Cli.Run("checkpoint");
            Assert.NotEqual(0, ck.ExitCode);
            Assert.Matches($@"^scoord: pid {pid} \(python3[^)]*\): fd {f[1]}: pipe:\[\d+\] is also held by pid {outside.Id} \(python3[^)]*\), outside the traced tree: it cannot be restored\n$", ck.Stderr);
            Assert.Empty(SyncSupport.Checkpoints(t));
        }
        finally
        {
            outside.Kill();
            scoord.Kill();
        }
    }

    private static int ParentOf(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        string[] f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return int.Parse(f[1], CultureInfo.InvariantCulture);
    }

    private static int Lines(TracedRun t)
    {
        try
        {
            return File.ReadAllLines(t.Path("out.txt")).Length;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>The pipeline's out.txt without scoord and without pauses.</summary>
    private static string ReferenceOutput(string producer, string consumer)
    {
        using var tree = new TempTree("scoord-reference-");
        var psi = new ProcessStartInfo("sh") { WorkingDirectory = tree.Path, UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add($"{producer} {Records} 0 | {consumer} 0 > out.txt");
        using Process p = Process.Start(psi)!;
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
        return File.ReadAllText(tree.Combine("out.txt"));
    }
}
