using System.Diagnostics;
using System.Globalization;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Scoord.Journal;
using Scoord.Journal.Memory;
using Scoord.Tests.Support;
using Scoord.Tests.Synchronizer;
using Scoord.Tests.Tracing;

namespace Scoord.Tests.Properties;

/// <summary>
/// Issue 12: random page-dirtying programs under `scoord run --memory scoord`. After each round of writes
/// the program waits (sigsuspend) and a checkpoint is taken; the checkpoint's image, resolved through its
/// incremental chain down to the first full image, must equal the process's memory at that point, page for
/// page (read through /proc/PID/mem while it still waits), under each incremental tracker.
/// </summary>
[Trait("Category", "Property")]
public sealed class MemoryImageProperties
{
    private const string Program = """
        #define _GNU_SOURCE
        #include <signal.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <sys/mman.h>
        #include <sys/syscall.h>
        #include <unistd.h>
        static volatile sig_atomic_t go;
        static void on_usr1(int s) { (void)s; go = 1; }
        int main(int argc, char **argv) {
            syscall(SYS_close_range, 3, ~0U, 0);
            long pages = atol(argv[1]), rounds = atol(argv[3]), per = atol(argv[4]);
            unsigned long x = strtoul(argv[2], NULL, 10) | 1;
            unsigned char *m = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            signal(SIGUSR1, on_usr1);
            sigset_t block, none;
            sigemptyset(&block); sigaddset(&block, SIGUSR1); sigprocmask(SIG_BLOCK, &block, NULL);
            sigemptyset(&none);
            for (long r = 0; r < rounds; r++) {
                for (long k = 0; k < per; k++) {
                    x = x * 6364136223846793005UL + 1442695040888963407UL;
                    m[((x >> 33) % pages) * 4096 + ((x >> 12) & 4095)] = (unsigned char)(x >> 56) | 1;
                }
                FILE *f = fopen("progress", "a");
                fprintf(f, "%ld %d %lx\n", r, getpid(), (unsigned long)m);
                fclose(f);
                go = 0;
                while (!go) sigsuspend(&none);
            }
            return 0;
        }
        """;

    private static int Cases(int ciDefault) =>
        int.TryParse(Environment.GetEnvironmentVariable("SCOORD_PROPERTY_CASES"), NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : ciDefault;

    [Fact]
    public void IncrementalImagesResolvedThroughTheirBases_EqualTheProcessMemory()
    {
        using var build = new TempTree("scoord-dirty-");
        string exe = TracedRun.Compile(build, "dirty", Program);
        Gen<(int Pages, uint Seed, int Rounds, int Per, string Tracker)> gen =
            from pages in Gen.Choose(1, 2048)
            from seed in Gen.Choose(1, int.MaxValue)
            from rounds in Gen.Choose(2, 4)
            from per in Gen.Choose(0, 200)
            from tracker in Gen.Elements("uffd-wp", "hash")
            select (pages, (uint)seed, rounds, per, tracker);
        string? lastFailure = null;
        Property property = Prop.ForAll(gen.ToArbitrary(), c =>
        {
            string? failure;
            try
            {
                failure = Execute(exe, c.Pages, c.Seed, c.Rounds, c.Per, c.Tracker);
            }
            catch (Exception e)
            {
                failure = "the test itself threw: " + e;
            }

            if (failure is not null)
            {
                lastFailure = $"{c}: {failure}";
                throw new PropertyFailedException(lastFailure);
            }
        });

        try
        {
            Check.One(Config.QuickThrowOnFailure.WithMaxTest(Cases(6)), property);
        }
        catch (Exception e)
        {
            Assert.Fail($"memory image property failed; minimal failing case:\n{lastFailure ?? "(none recorded)"}\n\n--- FsCheck ---\n{e.Message[..Math.Min(e.Message.Length, 4000)]}");
        }
    }

    private static string? Execute(string exe, int pages, uint seed, int rounds, int per, string tracker)
    {
        using var t = new TracedRun();
        ProcessStartInfo psi = ScoordProcess.StartInfo(t.Journal, t.Tree.Path,
            ["run", "--memory", "scoord", "--", exe, pages.ToString(CultureInfo.InvariantCulture), seed.ToString(CultureInfo.InvariantCulture),
             rounds.ToString(CultureInfo.InvariantCulture), per.ToString(CultureInfo.InvariantCulture)], redirectInput: true);
        psi.Environment["SCOORD_MEMORY_TRACKER"] = tracker;
        using var scoord = new BackgroundScoord(psi);
        for (int r = 0; r < rounds; r++)
        {
            SyncSupport.WaitFor(() => Progress(t).Count > r || scoord.HasExited, $"round {r}");
            if (scoord.HasExited)
            {
                return "scoord ended early: " + scoord;
            }

            (int pid, ulong region) = Progress(t)[r];
            CliResult ck = t.Cli.Run("checkpoint");
            if (ck.ExitCode != 0)
            {
                return $"round {r}: checkpoint failed: {ck}";
            }

            int id = int.Parse(ck.Stdout.Trim(), CultureInfo.InvariantCulture);
            string? mismatch = Compare(t, id, pid, r == 0 ? "full" : tracker, region, pages);
            if (mismatch is not null)
            {
                return $"round {r} (checkpoint {id}): {mismatch}";
            }

            Process.Start("kill", ["-USR1", pid.ToString(CultureInfo.InvariantCulture)])!.WaitForExit();
        }

        return scoord.WaitForExit(TimeSpan.FromSeconds(60)) && scoord.ExitCode == 0 ? null : "the run did not end well: " + scoord;
    }

    /// <summary>Every page the image resolves equals the process's memory there; null when all match.</summary>
    private static string? Compare(TracedRun t, int checkpoint, int pid, string expectedTracker, ulong region, int regionPages)
    {
        using JournalStore store = JournalStore.OpenReadOnly(t.Journal);
        var images = new MemoryImageStore(store);
        MemoryImage? image = images.ReadImage(checkpoint);
        if (image is null)
        {
            return "no image";
        }

        ProcessRef r = image.Processes.Find(p => p.Pid == pid) ?? throw new InvalidOperationException("pid not in image");
        if (PageTrackers.Name(r.Tracker) != expectedTracker)
        {
            return $"tracker {PageTrackers.Name(r.Tracker)}, expected {expectedTracker}";
        }

        SortedDictionary<ulong, byte[]> pages = images.ResolvePages(checkpoint, pid, r.BaseCheckpoint);
        // The kernel keeps rewriting the thread's rseq area (cpu_id, ...) whenever the thread returns to user
        // space on another CPU: not part of what must match (a restore registers rseq again).
        ThreadImage thread = images.ReadProcess(checkpoint, pid).Threads[0];
        ulong rseqStart = thread.RseqAddress, rseqEnd = thread.RseqAddress + thread.RseqLength;
        byte[] expected = new byte[4096];
        byte[] actual = new byte[4096];
        using var mem = new FileStream($"/proc/{pid}/mem", FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
        var bad = new StringBuilder();
        int mismatches = 0;
        foreach ((ulong address, byte[] hash) in pages)
        {
            images.ReadPage(hash, expected);
            mem.Seek((long)address, SeekOrigin.Begin);
            mem.ReadExactly(actual);
            for (ulong b = Math.Max(rseqStart, address); b < Math.Min(rseqEnd, address + 4096); b++)
            {
                expected[b - address] = actual[b - address];
            }

            if (!expected.AsSpan().SequenceEqual(actual) && mismatches++ < 5)
            {
                int diffs = 0;
                for (int i = 0; i < 4096; i++)
                {
                    diffs += expected[i] != actual[i] ? 1 : 0;
                }

                string where = address >= region && address < region + ((ulong)regionPages * 4096)
                    ? string.Create(CultureInfo.InvariantCulture, $"region page {(address - region) / 4096}")
                    : "outside the region";
                bad.Append(CultureInfo.InvariantCulture, $" 0x{address:x} ({where}, {diffs} bytes differ; {Maps(pid, address)})");
            }
        }

        // Complete too: a page of the dirtied region that the image does not hold was never written (zeros).
        for (ulong a = region; a < region + ((ulong)regionPages * 4096); a += 4096)
        {
            if (!pages.ContainsKey(a))
            {
                mem.Seek((long)a, SeekOrigin.Begin);
                mem.ReadExactly(actual);
                if (actual.AsSpan().IndexOfAnyExcept((byte)0) >= 0 && mismatches++ < 5)
                {
                    bad.Append(CultureInfo.InvariantCulture, $" 0x{a:x} (written, not in the image)");
                }
            }
        }

        return mismatches == 0 ? null : $"{mismatches} of {pages.Count} pages differ from memory (tracker {PageTrackers.Name(r.Tracker)}, base {r.BaseCheckpoint}):{bad}";
    }

    private static string Maps(int pid, ulong address)
    {
        foreach (string line in File.ReadAllLines($"/proc/{pid}/maps"))
        {
            string[] range = line.Split(' ')[0].Split('-');
            if (address >= ulong.Parse(range[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture) && address < ulong.Parse(range[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture))
            {
                return line;
            }
        }

        return "unmapped";
    }

    private sealed class PropertyFailedException(string message) : Exception(message);

    private static List<(int Pid, ulong Region)> Progress(TracedRun t)
    {
        var list = new List<(int, ulong)>();
        try
        {
            foreach (string line in File.ReadAllLines(t.Path("progress")))
            {
                string[] f = line.Split(' ');
                if (f.Length == 3)
                {
                    list.Add((int.Parse(f[1], CultureInfo.InvariantCulture), ulong.Parse(f[2], NumberStyles.HexNumber, CultureInfo.InvariantCulture)));
                }
            }
        }
        catch (IOException)
        {
        }

        return list;
    }
}
