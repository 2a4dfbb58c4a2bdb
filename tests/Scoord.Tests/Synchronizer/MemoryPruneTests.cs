using System.Globalization;
using System.Text.Json;
using Scoord.Journal;
using Scoord.Journal.Memory;
using Scoord.Tests.Support;
using Scoord.Tests.Tracing;
using Xunit.Abstractions;

namespace Scoord.Tests.Synchronizer;

/// <summary>
/// `scoord prune` and memory images: the kept checkpoint's incremental image is merged into a full one (its own
/// page maps list every page, base 0), the dropped checkpoint's image and the pages only it held are deleted, and
/// the kept checkpoint still restores; its merged image equals a full dump of the same state, page hash for page
/// hash (the full dump is the first image of the restored run, taken while the process sleeps).
/// </summary>
public sealed class MemoryPruneTests
{
    /// <summary>N steps that change a 1 MiB heap, then "idle" and a long sleep during which its memory does not change.</summary>
    internal const string Program = """
        #define _GNU_SOURCE
        #include <stdio.h>
        #include <stdlib.h>
        #include <sys/syscall.h>
        #include <time.h>
        #include <unistd.h>
        int main(int argc, char **argv) {
            (void)argc;
            syscall(SYS_close_range, 3, ~0U, 0);
            int n = atoi(argv[1]);
            char *heap = calloc(1, 1 << 20);
            unsigned long acc = 1;
            FILE *out = fopen("out.txt", "w");
            FILE *pid = fopen("app.pid", "w");
            fprintf(pid, "%d\n", getpid());
            fclose(pid);
            for (int i = 0; i < n; i++) {
                acc = acc * 6364136223846793005UL + 1442695040888963407UL;
                heap[(acc >> 12) % (1 << 20)] ^= (char)acc;
                heap[((unsigned long)i * 4096 * 7) % (1 << 20)] += 1;
                fprintf(out, "%d %lu\n", i, acc);
                fflush(out);
                struct timespec ts = {0, 10000000};
                nanosleep(&ts, NULL);
            }
            fprintf(out, "idle\n");
            fflush(out);
            struct timespec ts = {600, 0};
            nanosleep(&ts, NULL);
            printf("done %lu\n", acc);
            return 0;
        }
        """;

    private readonly ITestOutputHelper _output;

    public MemoryPruneTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public void Prune_MergesTheKeptIncrementalImageIntoAFullOne_DropsTheRest_AndItStillRestoresToTheStateOfAFullDump()
    {
        using var t = new TracedRun();
        string exe = TracedRun.Compile(t.Tree, "idler", Program);
        int pid;
        using (BackgroundScoord scoord = SyncSupport.Start(t, "run", "--memory", "scoord", "--", exe, "60"))
        {
            SyncSupport.WaitFor(() => Lines(t) >= 15 || scoord.HasExited, "the program to write");
            CliResult ck = t.Cli.Run("checkpoint");
            Assert.True(ck.ExitCode == 0, ck + "\n" + scoord);
            SyncSupport.WaitFor(() => File.ReadAllText(t.Path("out.txt")).EndsWith("idle\n", StringComparison.Ordinal) || scoord.HasExited, "the program to go idle");
            Thread.Sleep(300); // into its long sleep
            ck = t.Cli.Run("checkpoint");
            Assert.True(ck.ExitCode == 0, ck + "\n" + scoord);
            pid = int.Parse(File.ReadAllText(t.Path("app.pid")).Trim(), CultureInfo.InvariantCulture);
            scoord.Kill();
            Assert.True(scoord.WaitForExit(TimeSpan.FromSeconds(30)), "scoord did not die");
            SyncSupport.WaitFor(() => !Directory.Exists($"/proc/{pid}"), "the program to die with scoord");
        }

        JsonElement before = Process(t, 2);
        Assert.Equal(1, before.GetProperty("base").GetInt32());
        SortedDictionary<ulong, byte[]> resolvedBefore = Pages(t, 2, pid, out _);

        CliResult prune = t.Cli.Run("prune", "--keep", "1");
        _output.WriteLine(prune.Stdout);
        Assert.True(prune.ExitCode == 0, prune.ToString());
        Assert.Matches(@"memory images made full 1, dropped 1; pages dropped [1-9]\d*\n$", prune.Stdout);

        JsonElement after = Process(t, 2);
        Assert.Equal(0, after.GetProperty("base").GetInt32());
        Assert.Equal("full", after.GetProperty("tracker").GetString());
        Assert.Equal(after.GetProperty("content_pages").GetInt32(), after.GetProperty("stored_pages").GetInt32());
        Assert.NotEqual(0, t.Cli.Run("image", "1").ExitCode); // gone with its checkpoint
        SortedDictionary<ulong, byte[]> merged = Pages(t, 2, pid, out _);
        Assert.Equal(resolvedBefore.Keys, merged.Keys);
        Assert.All(resolvedBefore, kv => Assert.True(kv.Value.AsSpan().SequenceEqual(merged[kv.Key]), $"page 0x{kv.Key:x} changed"));

        using (BackgroundScoord restored = SyncSupport.Start(t, "restore", "2"))
        {
            SyncSupport.WaitFor(() => (Directory.Exists($"/proc/{pid}") && t.Cli.Run("status").ExitCode == 0) || restored.HasExited, "the restored run");
            Assert.False(restored.HasExited, "the restore ended\n" + restored);
            CliResult ck = t.Cli.Run("checkpoint", "--name", "full-again");
            Assert.True(ck.ExitCode == 0, ck + "\n" + restored);
            restored.Kill();
            Assert.True(restored.WaitForExit(TimeSpan.FromSeconds(30)), "the restored scoord did not die");
        }

        int fullId = SyncSupport.Checkpoints(t).Find(c => c.Name == "full-again").Id;
        JsonElement full = Process(t, fullId);
        Assert.Equal("full", full.GetProperty("tracker").GetString());
        SortedDictionary<ulong, byte[]> dump = Pages(t, fullId, pid, out (ulong Start, ulong End) rseq);
        Assert.Equal(merged.Keys, dump.Keys);
        int differing = 0;
        foreach ((ulong address, byte[] hash) in merged)
        {
            if (!hash.AsSpan().SequenceEqual(dump[address]) && !SameOutsideRseq(t, hash, dump[address], address, rseq))
            {
                differing++;
                _output.WriteLine($"page 0x{address:x} differs");
            }
        }

        Assert.Equal(0, differing);
    }

    /// <summary>Two pages that differ only in the thread's rseq area (the kernel rewrites cpu_id there).</summary>
    private static bool SameOutsideRseq(TracedRun t, byte[] a, byte[] b, ulong address, (ulong Start, ulong End) rseq)
    {
        using JournalStore store = JournalStore.OpenReadOnly(t.Journal);
        var images = new MemoryImageStore(store);
        byte[] x = new byte[4096], y = new byte[4096];
        images.ReadPage(a, x);
        images.ReadPage(b, y);
        for (ulong i = Math.Max(rseq.Start, address); i < Math.Min(rseq.End, address + 4096); i++)
        {
            x[i - address] = y[i - address];
        }

        return x.AsSpan().SequenceEqual(y);
    }

    private static SortedDictionary<ulong, byte[]> Pages(TracedRun t, int checkpoint, int pid, out (ulong Start, ulong End) rseq)
    {
        using JournalStore store = JournalStore.OpenReadOnly(t.Journal);
        var images = new MemoryImageStore(store);
        MemoryImage image = images.ReadImage(checkpoint) ?? throw new InvalidOperationException($"checkpoint {checkpoint} has no image");
        ProcessRef r = image.Processes.Single(p => p.Pid == pid);
        ThreadImage thread = images.ReadProcess(checkpoint, pid).Threads[0];
        rseq = (thread.RseqAddress, thread.RseqAddress + thread.RseqLength);
        SortedDictionary<ulong, byte[]> pages = images.ResolvePages(checkpoint, pid, r.BaseCheckpoint);
        byte[] content = new byte[4096];
        foreach (byte[] hash in pages.Values)
        {
            images.ReadPage(hash, content); // present and matching its hash
        }

        return pages;
    }

    private static JsonElement Process(TracedRun t, int checkpoint)
    {
        CliResult r = t.Cli.Run("image", "--json", checkpoint.ToString(CultureInfo.InvariantCulture));
        Assert.True(r.ExitCode == 0, r.ToString());
        return JsonDocument.Parse(r.Stdout).RootElement.GetProperty("processes")[0].Clone();
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
}
