using System.Diagnostics;
using System.Text.RegularExpressions;
using Scoord.Tests.Tracing;

namespace Scoord.Tests.Reliability;

/// <summary>A test that traces scoord with strace: skipped, with the reason, where strace is not installed.</summary>
public sealed class StraceFactAttribute : FactAttribute
{
    public StraceFactAttribute()
    {
        if (!File.Exists("/usr/bin/strace") && !File.Exists("/bin/strace"))
        {
            Skip = "strace is not installed (apt-get install strace)";
        }
    }
}

/// <summary>
/// The ordering each durability level promises, shown by tracing scoord's own tracer thread with strace:
/// for every stop of the app, whether scoord fsynced (fdatasync) the journal's WAL before letting the
/// syscall run (PTRACE_CONT / PTRACE_SYSCALL).
/// </summary>
public sealed partial class DurabilityTests
{
    // Plain writes, fsync, a write, an O_SYNC open and a write through it, pwritev2 with RWF_DSYNC.
    private const string App = """
import os, time
open("ready", "w").write(str(os.getpid()))
while not os.path.exists("go"):
    time.sleep(0.02)
fd = os.open("plain", os.O_WRONLY | os.O_CREAT, 0o644)
os.write(fd, b"a")
os.write(fd, b"b")
os.fsync(fd)
os.write(fd, b"c")
sfd = os.open("synced", os.O_WRONLY | os.O_CREAT | os.O_SYNC, 0o644)
os.write(sfd, b"x")
os.pwritev(fd, [b"d"], 3, os.RWF_DSYNC)
""";

    [StraceFact]
    public void SyncPoints_SyncsTheWal_BeforeEachSyncOfTheApp_AndOnlyThen()
    {
        // S: the WAL was fdatasync'ed between the stop and the resume; N: it was not.
        Assert.Equal(
            "openat:N write:N write:N fsync:S write:N openat:S write:S pwritev2:S",
            Trace("sync-points", fastPath: false, out _));
    }

    [StraceFact]
    public void SyncPoints_WithTheFastPath_SyncsTheWalWithTheRings_BeforeEachSyncOfTheApp()
    {
        // The plain writes go through the rings (no stop); the app's sync points stop, and the drain's
        // commit with a WAL fsync runs on the tracer thread before they go on. O_SYNC/O_DSYNC writes go
        // the ptrace way under sync-points; pwritev2 is not interposed.
        Assert.Equal(
            "fsync:S openat:S write:S pwritev2:S",
            Trace("sync-points", fastPath: true, out _));
    }

    [StraceFact]
    public void Strict_SyncsTheWal_BeforeEveryJournaledOp()
    {
        Assert.Equal(
            "openat:S write:S write:S fsync:S write:S openat:S write:S pwritev2:S",
            Trace("strict", fastPath: true, out _)); // strict turns the fast path off: every op is on the ptrace way
    }

    [StraceFact]
    public void Process_NeverSyncsTheWal_AndDoesNotStopTheAppsFsync()
    {
        Assert.Equal(
            "openat:N write:N write:N write:N openat:N write:N pwritev2:N",
            Trace("process", fastPath: false, out int walSyncs));
        Assert.Equal(0, walSyncs);
    }

    [StraceFact]
    public void Process_WithTheFastPath_NeverSyncsTheWal()
    {
        Assert.Equal("pwritev2:N", Trace("process", fastPath: true, out int walSyncs));
        Assert.Equal(0, walSyncs);
    }

    /// <summary>
    /// Runs <see cref="App"/> under `scoord run --durability LEVEL` with strace on the tracer thread. About one
    /// run in ten under the test host, the run attached to by strace did not finish (the tracer thread asleep
    /// in wait4; never seen without strace in 50 runs of the same app): such an attempt is killed and retried,
    /// at most three times.
    /// </summary>
    private static string Trace(string level, bool fastPath, out int walSyncs)
    {
        string? hang = null;
        for (int attempt = 0; attempt < 3; attempt++)
        {
            string? summary = TraceOnce(level, fastPath, out walSyncs, out hang);
            if (summary is not null)
            {
                return summary;
            }
        }

        Assert.Fail("scoord did not finish under strace, three times: " + hang);
        walSyncs = 0;
        return string.Empty;
    }

    private static string? TraceOnce(string level, bool fastPath, out int walSyncs, out string? hang)
    {
        walSyncs = 0;
        hang = null;
        using var t = new TracedRun();
        string straceOut = t.JournalTree.Combine("strace.txt");
        using Process scoord = FaultSupport.Start(t, null, fastPath, ["run", "--durability", level, .. fastPath ? Array.Empty<string>() : ["--no-fastpath"], "--", "python3", "-c", App]);
        using IDisposable killScoord = FaultSupport.KillAtEnd(scoord);
        FaultSupport.WaitFor(() => File.Exists(t.Path("ready")) && File.ReadAllText(t.Path("ready")).Length > 0, "the app");
        int appPid = int.Parse(File.ReadAllText(t.Path("ready")), System.Globalization.CultureInfo.InvariantCulture);
        int tracer = TracerThread(scoord.Id);

        var psi = new ProcessStartInfo("strace") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string a in new[] { "-y", "-e", "trace=ptrace,fsync,fdatasync,sync_file_range", "-e", "signal=none", "-o", straceOut, "-p", tracer.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            psi.ArgumentList.Add(a);
        }

        using Process strace = Process.Start(psi)!;
        using IDisposable killStrace = FaultSupport.KillAtEnd(strace);
        string? attached = strace.StandardError.ReadLine();
        Assert.True(attached is not null && attached.Contains("attached", StringComparison.Ordinal), "strace did not attach: " + attached);
        // Keep draining strace's stderr: a full pipe would block strace, and with it the traced scoord.
        Task<string> straceErr = strace.StandardError.ReadToEndAsync();
        Task<string> scoordErr = scoord.StandardError.ReadToEndAsync();
        File.WriteAllText(t.Path("go"), string.Empty);
        if (!scoord.WaitForExit(30_000))
        {
            hang = ThreadStates(scoord.Id);
            return null;
        }

        Assert.True(scoord.ExitCode == 0, scoordErr.GetAwaiter().GetResult());
        Assert.True(strace.WaitForExit(30_000), "strace did not finish");
        _ = straceErr.Wait(5_000);
        return Summarize(File.ReadAllLines(straceOut), appPid, out walSyncs);
    }

    /// <summary>For a timeout: the state and wait channel of every thread of scoord and of its children.</summary>
    private static string ThreadStates(int pid)
    {
        var sb = new System.Text.StringBuilder();
        try
        {
            foreach (string task in Directory.GetDirectories($"/proc/{pid}/task"))
            {
                string stat = File.ReadAllText(Path.Combine(task, "stat"));
                string wchan = File.ReadAllText(Path.Combine(task, "wchan"));
                sb.Append(stat[..Math.Min(stat.Length, 60)]).Append(" wchan=").Append(wchan).Append("; ");
            }
        }
        catch (IOException e)
        {
            sb.Append(e.Message);
        }

        return sb.ToString();
    }

    private static int TracerThread(int pid)
    {
        foreach (string task in Directory.GetDirectories($"/proc/{pid}/task"))
        {
            if (File.ReadAllText(Path.Combine(task, "comm")).Trim() == "scoord-tracer")
            {
                return int.Parse(Path.GetFileName(task), System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        Assert.Fail("no scoord-tracer thread in pid " + pid);
        return 0;
    }

    /// <summary>One "syscall:S|N" per seccomp stop of the app, in order.</summary>
    internal static string Summarize(string[] lines, int appPid, out int walSyncs)
    {
        var stops = new List<string>();
        string? open = null;
        bool synced = false;
        walSyncs = 0;
        string pid = appPid.ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (string line in lines)
        {
            if (WalSync().IsMatch(line))
            {
                walSyncs++;
                synced = true;
                continue;
            }

            Match stop = SeccompStop().Match(line);
            if (stop.Success && stop.Groups["pid"].Value == pid)
            {
                open = stop.Groups["nr"].Value;
                synced = false;
                continue;
            }

            Match resume = Resume().Match(line);
            if (resume.Success && resume.Groups["pid"].Value == pid && open is not null)
            {
                stops.Add(open + ":" + (synced ? "S" : "N"));
                open = null;
            }
        }

        return string.Join(' ', stops);
    }

    [GeneratedRegex(@"^(fdatasync|fsync|sync_file_range)\(\d+<[^>]*/db/\d+\.log>")]
    private static partial Regex WalSync();

    [GeneratedRegex(@"ptrace\(PTRACE_GET_SYSCALL_INFO, (?<pid>\d+), .*op=PTRACE_SYSCALL_INFO_SECCOMP.*seccomp=\{nr=__NR_(?<nr>\w+)")]
    private static partial Regex SeccompStop();

    [GeneratedRegex(@"^ptrace\(PTRACE_(CONT|SYSCALL), (?<pid>\d+),")]
    private static partial Regex Resume();
}
