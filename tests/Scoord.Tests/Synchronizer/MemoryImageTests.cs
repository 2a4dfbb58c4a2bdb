using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Scoord.Tests.Support;
using Scoord.Tests.Tracing;
using Xunit.Abstractions;

namespace Scoord.Tests.Synchronizer;

/// <summary>
/// scoord's own memory checkpoints (`--memory scoord`) end to end, with real programs: a checkpoint while the
/// program runs, the program goes on, scoord and the program are killed with SIGKILL, `scoord restore` rolls
/// the files back and brings the process back from its image; its final output equals an uninterrupted run's,
/// byte for byte. Also: which dirty-page tracker ran, refusals with one line.
/// </summary>
public sealed class MemoryImageTests
{
    /// <summary>Heap (1 MiB, changed every step), stack (a local array), an open output file, a result on stdout.</summary>
    internal const string CProgram = """
        #define _GNU_SOURCE
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <sys/syscall.h>
        #include <time.h>
        #include <unistd.h>
        int main(int argc, char **argv) {
            syscall(SYS_close_range, 3, ~0U, 0); /* descriptors a test runner leaked would be refused (held outside the tree) */
            int n = atoi(argv[1]);
            long pause_ns = atol(argv[2]);
            long span = argc > 3 ? atol(argv[3]) : 1 << 20; /* the heap bytes the steps write into */
            char *heap = malloc(1 << 20);
            memset(heap, 0, 1 << 20);
            unsigned long stack[64] = {0};
            unsigned long acc = 1;
            FILE *out = fopen("out.txt", "w");
            FILE *pid = fopen("app.pid", "w");
            fprintf(pid, "%d\n", getpid());
            fclose(pid);
            for (int i = 0; i < n; i++) {
                acc = acc * 6364136223846793005UL + 1442695040888963407UL;
                heap[(acc >> 12) % span] ^= (char)acc;
                stack[i % 64] += acc;
                unsigned long sum = 0;
                for (int k = 0; k < (1 << 20); k += 4096) sum += (unsigned char)heap[k];
                fprintf(out, "%d %lu %lu %lu\n", i, acc, sum, stack[(i * 7) % 64]);
                fflush(out);
                struct timespec ts = {0, pause_ns};
                nanosleep(&ts, NULL);
            }
            fclose(out);
            printf("done %lu\n", acc);
            return 0;
        }
        """;

    internal const string PythonProgram = """
        import os, sys, time
        os.closerange(3, 65536)  # descriptors a test runner leaked would be refused (held outside the tree)
        n, pause = int(sys.argv[1]), float(sys.argv[2])
        with open("app.pid", "w") as f:
            f.write("%d\n" % os.getpid())
        acc, state = 1, {}
        with open("out.txt", "a") as f:
            for i in range(n):
                acc = (acc * 31 + i) % 1000003
                state[i % 17] = state.get(i % 17, 0) + acc
                f.write("%d %d %d\n" % (i, acc, sum(state.values())))
                f.flush()
                time.sleep(pause)
        print("done %d" % acc, flush=True)
        """;

    private const int Steps = 400; // 8 s at 20 ms a step: room for two checkpoints and the kill on a loaded 2-core machine (200 was too few once in CI)
    private readonly ITestOutputHelper _output;

    public MemoryImageTests(ITestOutputHelper output) => _output = output;

    /// <summary>
    /// --memory scoord runs ptrace only, even when the environment turns the fast path on (SCOORD_FASTPATH=1):
    /// the interposer's ring and stub page would be in the images, and a restore does not reattach rings.
    /// The same run without --memory gets the interposer (so the test can tell).
    /// </summary>
    [Fact]
    public void MemoryScoord_RunsPtraceOnly_EvenWithTheFastPathOnByEnvironment()
    {
        string Preload(params string[] memory)
        {
            using var t = new TracedRun();
            t.Cli.Environment["SCOORD_NO_FASTPATH"] = null;
            t.Cli.Environment["SCOORD_FASTPATH"] = "1";
            CliResult run = t.Cli.Run(["-v", "run", .. memory, "--", "sh", "-c", "printf '[%s]' \"$LD_PRELOAD\" > preload.txt"]);
            Assert.True(run.ExitCode == 0, run.ToString());
            if (memory.Length > 0)
            {
                Assert.Contains("fast path off (--memory scoord)", run.Stderr, StringComparison.Ordinal);
            }

            return File.ReadAllText(t.Path("preload.txt"));
        }

        Assert.Contains("libscoord-fast.so", Preload(), StringComparison.Ordinal);
        Assert.DoesNotContain("libscoord-fast.so", Preload("--memory", "scoord"), StringComparison.Ordinal);
    }

    [Fact]
    public void CProgram_CheckpointedWhileRunning_KilledAndRestored_EndsWithTheOutputOfAnUninterruptedRun()
    {
        using var t = new TracedRun();
        string exe = TracedRun.Compile(t.Tree, "counter", CProgram);
        string reference = ReferenceOutput(exe, []);
        (CliResult restore, int pid) = CheckpointKillRestore(t, [exe, Steps.ToString(CultureInfo.InvariantCulture), "20000000"], checkpoints: 1, restoreFrom: 1);
        Assert.True(restore.ExitCode == 0, restore.ToString());
        Assert.StartsWith("done ", restore.Stdout, StringComparison.Ordinal); // its stdout is the restoring scoord's
        Assert.True(reference == File.ReadAllText(t.Path("out.txt")), "out.txt differs from the uninterrupted run's");
        Assert.False(File.Exists($"/proc/{pid}/stat") && !SyncSupport.IsDead(pid), "the restored process is still running");
    }

    [Fact]
    public void PythonLoop_KeepingItsStateInMemory_KilledAndRestored_EndsWithTheOutputOfAnUninterruptedRun()
    {
        using var t = new TracedRun();
        File.WriteAllText(t.Path("loop.py"), PythonProgram);
        string reference = ReferenceOutput(SyncSupport.Python, ["-B", t.Path("loop.py")]);
        (CliResult restore, _) = CheckpointKillRestore(t, [SyncSupport.Python, "-B", "loop.py", Steps.ToString(CultureInfo.InvariantCulture), "0.02"], checkpoints: 1, restoreFrom: 1);
        Assert.True(restore.ExitCode == 0, restore.ToString());
        Assert.StartsWith("done ", restore.Stdout, StringComparison.Ordinal);
        Assert.True(reference == File.ReadAllText(t.Path("out.txt")), "out.txt differs from the uninterrupted run's");
    }

    [Fact]
    public void SecondImage_IsIncrementalByUffdWp_OnThisKernel_AndRestoresFromItsBase()
    {
        Assert.True(KernelAtLeast(6, 7), "this machine's kernel is older than 6.7: no PAGEMAP_SCAN, the tracker would be soft-dirty or hash");
        using var t = new TracedRun();
        string exe = TracedRun.Compile(t.Tree, "counter", CProgram);
        // The steps write into the first 64 KiB (16 pages) of the 1 MiB heap only: what the incremental image
        // must store then does not grow with the time between the checkpoints (on a loaded machine the steps
        // between them dirtied 206 of the 256 heap pages, more than half of all content pages).
        string reference = ReferenceOutput(exe, [], suffix: ["65536"]);
        (CliResult restore, _) = CheckpointKillRestore(t, [exe, Steps.ToString(CultureInfo.InvariantCulture), "20000000", "65536"], checkpoints: 2, restoreFrom: 2);
        Assert.True(restore.ExitCode == 0, restore.ToString());
        Assert.True(reference == File.ReadAllText(t.Path("out.txt")), "out.txt differs from the uninterrupted run's");

        JsonElement first = Image(t, 1);
        JsonElement second = Image(t, 2);
        Assert.Equal("full", first.GetProperty("tracker").GetString());
        Assert.Equal("uffd-wp", second.GetProperty("tracker").GetString());
        Assert.Equal(1, second.GetProperty("base").GetInt32());
        int content = second.GetProperty("content_pages").GetInt32();
        int stored = second.GetProperty("stored_pages").GetInt32();
        _output.WriteLine($"image 1: {first}\nimage 2: {second}");
        Assert.True(stored < content / 2, $"the incremental image stores {stored} of {content} content pages");
    }

    [Fact]
    public void ContentHashTracker_WhenForced_RecordsItselfAndRestoresFromItsBase()
    {
        using var t = new TracedRun();
        string exe = TracedRun.Compile(t.Tree, "counter", CProgram);
        string reference = ReferenceOutput(exe, []);
        (CliResult restore, _) = CheckpointKillRestore(t, [exe, Steps.ToString(CultureInfo.InvariantCulture), "20000000"], checkpoints: 2, restoreFrom: 2,
            env: new Dictionary<string, string> { ["SCOORD_MEMORY_TRACKER"] = "hash" });
        Assert.True(restore.ExitCode == 0, restore.ToString());
        Assert.True(reference == File.ReadAllText(t.Path("out.txt")), "out.txt differs from the uninterrupted run's");
        JsonElement second = Image(t, 2);
        Assert.Equal("hash", second.GetProperty("tracker").GetString());
        Assert.True(second.GetProperty("stored_pages").GetInt32() < second.GetProperty("content_pages").GetInt32() / 2, second.ToString());
    }

    [Fact]
    public void RestoredProcess_IsTracedAgain_ItsWritesAreJournaled()
    {
        using var t = new TracedRun();
        string exe = TracedRun.Compile(t.Tree, "counter", CProgram);
        (CliResult restore, int pid) = CheckpointKillRestore(t, [exe, Steps.ToString(CultureInfo.InvariantCulture), "20000000"], checkpoints: 1, restoreFrom: 1);
        Assert.True(restore.ExitCode == 0, restore.ToString());
        CliResult log = t.Cli.Run("log", "--json", "--pid", pid.ToString(CultureInfo.InvariantCulture), "--op", "write");
        Assert.True(log.ExitCode == 0, log.ToString());
        var seqs = new List<ulong>();
        foreach (string line in log.StdoutLines)
        {
            seqs.Add(JsonDocument.Parse(line).RootElement.GetProperty("seq").GetUInt64());
        }

        ulong ckptSeq = SyncSupport.Checkpoints(t)[0].Seq;
        int afterCheckpoint = seqs.Count(s => s > ckptSeq);
        // Before the kill it wrote at least 30 lines after the checkpoint; after the restore it wrote every line
        // from the checkpoint on again, journaled under the same pid.
        int linesAtCheckpoint = LinesAt(t, ckptSeq, pid);
        _output.WriteLine($"{seqs.Count} writes, {afterCheckpoint} after the checkpoint (seq {ckptSeq}), {linesAtCheckpoint} lines then");
        Assert.True(afterCheckpoint >= Steps - linesAtCheckpoint + 30, $"only {afterCheckpoint} writes journaled after the checkpoint: the restored process is not journaled");
    }

    /// <summary>Two threads in lockstep through semaphores (futex waits at the checkpoint): the output does not depend on timing.</summary>
    internal const string ThreadedProgram = """
            #define _GNU_SOURCE
            #include <pthread.h>
            #include <semaphore.h>
            #include <stdio.h>
            #include <stdlib.h>
            #include <sys/syscall.h>
            #include <time.h>
            #include <unistd.h>
            static sem_t ask, answer;
            static unsigned long shared_value;
            static long pause_ns;
            static void *worker(void *a) {
                unsigned long local = 7;
                for (;;) {
                    sem_wait(&ask);
                    local = local * 2862933555777941757UL + 3037000493UL;
                    shared_value ^= local;
                    struct timespec ts = {0, pause_ns / 2};
                    nanosleep(&ts, NULL);
                    sem_post(&answer);
                }
                return a;
            }
            int main(int argc, char **argv) {
                syscall(SYS_close_range, 3, ~0U, 0);
                int n = atoi(argv[1]);
                pause_ns = atol(argv[2]);
                sem_init(&ask, 0, 0);
                sem_init(&answer, 0, 0);
                pthread_t th;
                pthread_create(&th, NULL, worker, NULL);
                FILE *out = fopen("out.txt", "w");
                FILE *pid = fopen("app.pid", "w");
                fprintf(pid, "%d\n", getpid());
                fclose(pid);
                for (int i = 0; i < n; i++) {
                    sem_post(&ask);
                    sem_wait(&answer);
                    fprintf(out, "%d %lu\n", i, shared_value);
                    fflush(out);
                    struct timespec ts = {0, pause_ns / 2};
                    nanosleep(&ts, NULL);
                }
                fclose(out);
                printf("done %lu\n", shared_value);
                return 0;
            }
            """;

    [Fact]
    public void ThreadedProgram_KilledAndRestored_EndsWithTheOutputOfAnUninterruptedRun()
    {
        using var t = new TracedRun();
        string exe = TracedRun.Compile(t.Tree, "threads", ThreadedProgram, "-pthread");
        string reference = ReferenceOutput(exe, []);
        (CliResult restore, _) = CheckpointKillRestore(t, [exe, Steps.ToString(CultureInfo.InvariantCulture), "20000000"], checkpoints: 1, restoreFrom: 1);
        Assert.True(restore.ExitCode == 0, restore.ToString());
        Assert.Equal(2, Image(t, 1).GetProperty("threads").GetInt32());
        Assert.StartsWith("done ", restore.Stdout, StringComparison.Ordinal);
        Assert.True(reference == File.ReadAllText(t.Path("out.txt")), "out.txt differs from the uninterrupted run's");
    }

    [Fact]
    public void RestoredProcess_CheckpointedAgain_KilledAndRestoredAgain_EndsWithTheOutputOfAnUninterruptedRun()
    {
        using var t = new TracedRun();
        string exe = TracedRun.Compile(t.Tree, "threads", ThreadedProgram, "-pthread");
        string steps = Steps.ToString(CultureInfo.InvariantCulture);
        using (BackgroundScoord scoord = SyncSupport.Start(t, "run", "--memory", "scoord", "--", exe, steps, "20000000"))
        {
            SyncSupport.WaitFor(() => Lines(t) >= 25 || scoord.HasExited, "the program to write");
            CliResult ck = t.Cli.Run("checkpoint", "--name", "first");
            Assert.True(ck.ExitCode == 0, ck + "\n" + scoord);
            int at = Lines(t);
            SyncSupport.WaitFor(() => Lines(t) >= at + 30 || scoord.HasExited, "the program to go on");
            KillWithApp(t, scoord);
        }

        using (BackgroundScoord restored = SyncSupport.Start(t, "restore", "first"))
        {
            // The restored process runs under a new coordinator: checkpoint it while it goes on again.
            SyncSupport.WaitFor(() => t.Cli.Run("status").ExitCode == 0 || restored.HasExited, "the restored run's coordinator");
            int at = Lines(t);
            SyncSupport.WaitFor(() => Lines(t) >= at + 20 || restored.HasExited, "the restored program to go on");
            CliResult ck = t.Cli.Run("checkpoint", "--name", "second");
            Assert.True(ck.ExitCode == 0, ck + "\n" + restored);
            at = Lines(t);
            SyncSupport.WaitFor(() => Lines(t) >= at + 30 || restored.HasExited, "the restored program to go on after its checkpoint");
            Assert.False(restored.HasExited, "the restored program ended before the kill\n" + restored);
            KillWithApp(t, restored);
        }

        CliResult restore = t.Cli.Run("restore", "second");
        Assert.True(restore.ExitCode == 0, restore.ToString());
        Assert.StartsWith("done ", restore.Stdout, StringComparison.Ordinal);
        Assert.True(ReferenceOutput(exe, [], Steps) == File.ReadAllText(t.Path("out.txt")), "out.txt differs from the uninterrupted run's");
    }

    /// <summary>
    /// A restore brings each process back under its own pid: while another process holds one of them, `scoord
    /// restore` is refused with one line naming the pid and that process, before the rollback (the files stay as
    /// they are); once it has ended, the same restore works.
    /// </summary>
    [Fact]
    public void RestoreWhileThePidIsTaken_IsRefusedBeforeTheRollback_WithOneLine_AndWorksOnceItIsFree()
    {
        using var t = new TracedRun();
        string exe = TracedRun.Compile(t.Tree, "counter", CProgram);
        int pid;
        using (BackgroundScoord scoord = SyncSupport.Start(t, "run", "--memory", "scoord", "--", exe, Steps.ToString(CultureInfo.InvariantCulture), "20000000"))
        {
            SyncSupport.WaitFor(() => Lines(t) >= 20 || scoord.HasExited, "the program to write");
            CliResult ck = t.Cli.Run("checkpoint", "--name", "first");
            Assert.True(ck.ExitCode == 0, ck + "\n" + scoord);
            int at = Lines(t);
            SyncSupport.WaitFor(() => Lines(t) >= at + 20 || scoord.HasExited, "the program to go on");
            pid = KillWithApp(t, scoord);
        }

        string afterKill = File.ReadAllText(t.Path("out.txt"));
        int squatter = TakePid(pid);
        try
        {
            CliResult refused = t.Cli.Run("restore", "first");
            Assert.True(refused.ExitCode != 0, "a restore whose pid is taken must fail: " + refused);
            string[] lines = [.. refused.StderrLines.Where(l => l.Length > 0)];
            Assert.True(lines.Length == 1 && lines[0].Contains($"pid {pid} is in use by another process now (sleep)", StringComparison.Ordinal),
                "one stderr line naming the pid and the process holding it: " + refused);
            Assert.DoesNotContain("   at ", refused.Stderr, StringComparison.Ordinal);
            Assert.True(afterKill == File.ReadAllText(t.Path("out.txt")), "the refused restore rolled the files back");
        }
        finally
        {
            Proc("kill", "-9", squatter.ToString(CultureInfo.InvariantCulture));
            SyncSupport.WaitFor(() => !Directory.Exists($"/proc/{squatter}"), "the process holding the pid to end");
        }

        CliResult restore = t.Cli.Run("restore", "first");
        Assert.True(restore.ExitCode == 0, restore.ToString());
        Assert.True(ReferenceOutput(exe, []) == File.ReadAllText(t.Path("out.txt")), "out.txt differs from the uninterrupted run's");
    }

    /// <summary>Starts `sleep 300` under exactly <paramref name="pid"/> (root: ns_last_pid), orphaned; returns its pid.</summary>
    private static int TakePid(int pid)
    {
        const string take = """
            import os, sys
            want = int(sys.argv[1])
            for _ in range(200):
                with open('/proc/sys/kernel/ns_last_pid', 'w') as f:
                    f.write(str(want - 1))
                child = os.fork()
                if child == 0:
                    null = os.open('/dev/null', os.O_RDWR)  # not the caller's pipes: it outlives this script
                    for fd in (0, 1, 2):
                        os.dup2(null, fd)
                    os.execvp('sleep', ['sleep', '300'])
                if child == want:
                    print(child)
                    sys.exit(0)
                os.kill(child, 9)
                os.waitpid(child, 0)
            sys.exit('could not get pid %d' % want)
            """;
        Properties.ProcResult r = Properties.Proc.Run(SyncSupport.Python, ["-c", take, pid.ToString(CultureInfo.InvariantCulture)]);
        Assert.True(r.ExitCode == 0, "taking the pid failed: " + r);
        return int.Parse(r.Stdout.Trim(), CultureInfo.InvariantCulture);
    }

    private static void Proc(string file, params string[] args) => Properties.Proc.Run(file, args);

    /// <summary>
    /// What a restore could not bring back refuses the checkpoint itself, in one line naming the process and the
    /// resource (never a restore that goes wrong later): here shared anonymous memory (python's mmap.mmap(-1, n)).
    /// </summary>
    [Fact]
    public void SharedAnonymousMemory_RefusesTheCheckpoint_WithOneLineNamingProcessAndMapping()
    {
        const string program = """
            import mmap, os, time
            os.closerange(3, 65536)
            m = mmap.mmap(-1, 8192)
            m[0:5] = b"hello"
            with open("app.pid", "w") as f:
                f.write("%d\n" % os.getpid())
            time.sleep(60)
            """;
        using var t = new TracedRun();
        File.WriteAllText(t.Path("shm.py"), program);
        using BackgroundScoord scoord = SyncSupport.Start(t, "run", "--memory", "scoord", "--", SyncSupport.Python, "-B", "shm.py");
        SyncSupport.WaitFor(() => File.Exists(t.Path("app.pid")) && File.ReadAllText(t.Path("app.pid")).EndsWith('\n'), "the program to map its memory");
        int pid = int.Parse(File.ReadAllText(t.Path("app.pid")).Trim(), CultureInfo.InvariantCulture);
        CliResult ck = t.Cli.Run("checkpoint");
        KillWithApp(t, scoord);
        Assert.NotEqual(0, ck.ExitCode);
        Assert.Matches($@"^scoord: pid {pid} \(python3[^)]*\): it has shared anonymous memory at 0x[0-9a-f]+ \(/dev/zero \(deleted\)\), which a restore cannot bring back\n$", ck.Stderr);
        Assert.Empty(SyncSupport.Checkpoints(t));
    }

    [Fact]
    public void TcpSocketToOutside_RefusesTheCheckpoint_WithOneLineNamingProcessAndSocket()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        string program = $$"""
            import os, socket, time
            os.closerange(3, 65536)
            s = socket.create_connection(("127.0.0.1", {{port}}))
            with open("app.pid", "w") as f:
                f.write("%d\n" % os.getpid())
            time.sleep(60)
            """;
        using var t = new TracedRun();
        File.WriteAllText(t.Path("tcp.py"), program);
        using BackgroundScoord scoord = SyncSupport.Start(t, "run", "--memory", "scoord", "--", SyncSupport.Python, "-B", "tcp.py");
        SyncSupport.WaitFor(() => listener.Pending() || scoord.HasExited, "the program to connect");
        using Socket accepted = listener.AcceptSocket();
        SyncSupport.WaitFor(() => File.Exists(t.Path("app.pid")) && File.ReadAllText(t.Path("app.pid")).EndsWith('\n'), "the program to connect");
        int pid = int.Parse(File.ReadAllText(t.Path("app.pid")).Trim(), CultureInfo.InvariantCulture);
        CliResult ck = t.Cli.Run("checkpoint");
        KillWithApp(t, scoord);
        Assert.NotEqual(0, ck.ExitCode);
        Assert.Matches($@"^scoord: pid {pid} \(python3[^)]*\): fd \d+: a TCP socket 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:{port} cannot be restored\n$", ck.Stderr);
        Assert.Empty(SyncSupport.Checkpoints(t));
    }

    /// <summary>
    /// `scoord run --memory scoord -- COMMAND`; <paramref name="checkpoints"/> checkpoints 25 lines apart; the program
    /// goes on for 30 more lines; SIGKILL to scoord (the program dies with it); `scoord restore restoreFrom`.
    /// </summary>
    private (CliResult Restore, int Pid) CheckpointKillRestore(TracedRun t, string[] command, int checkpoints, int restoreFrom, Dictionary<string, string>? env = null)
    {
        int pid;
        var sw = Stopwatch.StartNew();
        using (var scoord = new BackgroundScoord(StartInfo(t, ["run", "--memory", "scoord", "--", .. command], env)))
        {
            for (int i = 0; i < checkpoints; i++)
            {
                int want = Lines(t) + 25;
                SyncSupport.WaitFor(() => Lines(t) >= want || scoord.HasExited, "the program to write " + want + " lines");
                Assert.False(scoord.HasExited, "the program ended before the checkpoint\n" + scoord);
                CliResult ck = t.Cli.Run("checkpoint");
                Assert.True(ck.ExitCode == 0, ck + "\n" + scoord);
            }

            int at = Lines(t);
            SyncSupport.WaitFor(() => Lines(t) >= at + 30 || scoord.HasExited, "the program to go on after the checkpoint");
            Assert.False(scoord.HasExited, "the program ended before the kill\n" + scoord);
            pid = KillWithApp(t, scoord);
        }

        CliResult image = t.Cli.Run("image", restoreFrom.ToString(CultureInfo.InvariantCulture));
        _output.WriteLine($"killed at line {Lines(t)} after {sw.Elapsed.TotalSeconds:0.0}s\n{image.Stdout}");
        CliResult restore = t.Cli.Run("restore", restoreFrom.ToString(CultureInfo.InvariantCulture));
        _output.WriteLine($"restore: exit {restore.ExitCode}, stderr: {restore.Stderr}");
        return (restore, pid);
    }

    private static ProcessStartInfo StartInfo(TracedRun t, string[] args, Dictionary<string, string>? env)
    {
        ProcessStartInfo psi = ScoordProcess.StartInfo(t.Journal, t.Tree.Path, args, redirectInput: true);
        foreach ((string k, string v) in env ?? [])
        {
            psi.Environment[k] = v;
        }

        return psi;
    }

    /// <summary>kill -9 scoord; waits until the traced program (EXITKILL) is gone too. Returns the program's pid.</summary>
    private static int KillWithApp(TracedRun t, BackgroundScoord scoord)
    {
        int pid = int.Parse(File.ReadAllText(t.Path("app.pid")).Trim(), CultureInfo.InvariantCulture);
        scoord.Kill();
        Assert.True(scoord.WaitForExit(TimeSpan.FromSeconds(30)), "scoord did not die");
        SyncSupport.WaitFor(() => SyncSupport.IsDead(pid) && !Directory.Exists($"/proc/{pid}"), "the program to die with scoord");
        return pid;
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

    /// <summary>The lines of out.txt at the checkpoint: the program's writes journaled before it.</summary>
    private static int LinesAt(TracedRun t, ulong seq, int pid)
    {
        CliResult log = t.Cli.Run("log", "--json", "--pid", pid.ToString(CultureInfo.InvariantCulture), "--op", "write");
        int n = 0;
        foreach (string line in log.StdoutLines)
        {
            if (JsonDocument.Parse(line).RootElement.GetProperty("seq").GetUInt64() < seq)
            {
                n++;
            }
        }

        return n;
    }

    private static JsonElement Image(TracedRun t, int checkpoint)
    {
        CliResult r = t.Cli.Run("image", "--json", checkpoint.ToString(CultureInfo.InvariantCulture));
        Assert.True(r.ExitCode == 0, r.ToString());
        return JsonDocument.Parse(r.Stdout).RootElement.GetProperty("processes")[0].Clone();
    }

    /// <summary>The program's out.txt when it runs without scoord and without pauses.</summary>
    private static string ReferenceOutput(string program, string[] prefix, int steps = Steps, string[]? suffix = null)
    {
        using var tree = new TempTree("scoord-reference-");
        var psi = new ProcessStartInfo(program) { WorkingDirectory = tree.Path, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string a in prefix)
        {
            psi.ArgumentList.Add(a);
        }

        psi.ArgumentList.Add(steps.ToString(CultureInfo.InvariantCulture));
        psi.ArgumentList.Add("0");
        foreach (string a in suffix ?? [])
        {
            psi.ArgumentList.Add(a);
        }

        using Process p = Process.Start(psi)!;
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, stdout);
        return File.ReadAllText(tree.Combine("out.txt"));
    }

    private static bool KernelAtLeast(int major, int minor)
    {
        string[] v = File.ReadAllText("/proc/sys/kernel/osrelease").Split('.', '-');
        int ma = int.Parse(v[0], CultureInfo.InvariantCulture);
        int mi = int.Parse(v[1], CultureInfo.InvariantCulture);
        return ma > major || (ma == major && mi >= minor);
    }
}
