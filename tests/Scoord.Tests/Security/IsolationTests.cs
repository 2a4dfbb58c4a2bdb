using Scoord.Tests.Support;
using Scoord.Tests.Tracing;

namespace Scoord.Tests.Security;

/// <summary>What of scoord reaches the app (no descriptors), and who may talk to a running coordinator.</summary>
public sealed class IsolationTests
{
    /// <summary>Lists the process's open fds (without the one reading the list) as "FD TARGET" lines.</summary>
    private const string FdListSource = """
        #include <dirent.h>
        #include <limits.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <unistd.h>
        int main(void) {
            DIR *d = opendir("/proc/self/fd");
            struct dirent *e;
            char p[64], t[PATH_MAX];
            if (!d) return 3;
            while ((e = readdir(d)) != NULL) {
                if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d)) continue;
                snprintf(p, sizeof p, "/proc/self/fd/%s", e->d_name);
                ssize_t n = readlink(p, t, sizeof t - 1);
                t[n < 0 ? 0 : n] = 0;
                printf("%s %s\n", e->d_name, t);
            }
            closedir(d);
            return 0;
        }
        """;

    [Fact]
    public void NoDescriptorOfScoord_LeaksIntoTheApp()
    {
        using var t = new TracedRun();
        string exe = TracedRun.Compile(t.JournalTree, "fdlist", FdListSource);
        // Without scoord, from the same parent (the test process): the fds any child of it gets.
        (int exit, string direct) = JournalProtectionTests.Exec(exe);
        Assert.Equal(0, exit);
        string[] expected = FdNumbers(direct); // 0, 1, 2 (and whatever the test runner itself passes down)
        Assert.Contains("2", expected);

        // Under scoord, with everything scoord opens in place: the journal (RocksDB files, its LOG, the
        // lock), the control socket and a connection to it, the doorbell pipe, the checkpoint timer; and
        // a grandchild (fork + exec) as well as the main program.
        CliResult run = t.Run("sh", "-c", $"{JournalProtectionTests.ScoordCommand()} checkpoint >/dev/null && {exe} && echo --- && {exe}");
        Assert.True(run.ExitCode == 0, run.ToString());
        string[] parts = run.Stdout.Split("---\n");
        Assert.Equal(2, parts.Length);
        foreach (string listing in parts)
        {
            Assert.True(FdNumbers(listing).SequenceEqual(expected), "fds under scoord:\n" + listing);
            Assert.DoesNotContain(t.Journal, listing, StringComparison.Ordinal);
        }

        using var timed = new TracedRun();
        string exe2 = TracedRun.Compile(timed.JournalTree, "fdlist", FdListSource);
        CliResult every = timed.Cli.Run("run", "--checkpoint-every", "50ms", "--", "sh", "-c", $"sleep 0.3; {exe2}");
        Assert.True(every.ExitCode == 0, every.ToString());
        Assert.Equal(expected, FdNumbers(every.Stdout));
    }

    [Fact]
    public async Task TheControlSocket_RefusesAnotherUser_WithAClearLine_AndServesRoot()
    {
        if (Environment.UserName != "root")
        {
            return; // needs to become another user; CI runs as root
        }

        using var t = new TracedRun();
        string go = t.Path("go");
        Task<CliResult> app = Task.Run(() => t.Sh($"while [ ! -e '{go}' ]; do sleep 0.05; done; echo finished"));
        string socket = Path.Combine(t.Journal, "control.sock");
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!File.Exists(socket) && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(50);
        }

        Assert.True(File.Exists(socket), "no control socket");
        // The coordinator binds the socket, then makes it 0600, then listens: wait until it serves (a chmod
        // by the test between bind and its own chmod would be undone).
        CliResult ready = t.Cli.Run("status", "--json");
        while (!ready.Stdout.Contains("\"live_processes\"", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(100);
            ready = t.Cli.Run("status", "--json");
        }

        Assert.True(ready.Stdout.Contains("\"live_processes\"", StringComparison.Ordinal), "the coordinator never served status: " + ready);
        try
        {
            // Open the way to the socket for everyone (as an admin might by mistake): only SO_PEERCRED is left.
            File.SetUnixFileMode(t.JournalTree.Path, (UnixFileMode)0x1ED); // 0755
            File.SetUnixFileMode(t.Journal, (UnixFileMode)0x1ED);
            File.SetUnixFileMode(socket, (UnixFileMode)0x1B6); // 0666
            (int exit, string output) = JournalProtectionTests.Exec("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                "env", "SCOORD_JOURNAL=" + t.Journal, "HOME=/tmp", "DOTNET_CLI_HOME=/tmp", ScoordCli.BinaryPath, "checkpoint", "--name", "by-nobody");
            Assert.True(exit != 0, output);
            string[] lines = output.TrimEnd('\n').Split('\n');
            Assert.True(lines.Length == 1 && lines[0].StartsWith("scoord: ", StringComparison.Ordinal), output);
            Assert.True(output.Contains("refused: uid 65534 may not use this coordinator", StringComparison.Ordinal), output);

            CliResult root = t.Cli.Run("checkpoint", "--name", "by-root");
            Assert.True(root.ExitCode == 0, root.ToString());
        }
        finally
        {
            File.WriteAllText(go, "");
        }

        CliResult done = await app;
        Assert.True(done.ExitCode == 0, done.ToString());
        CliResult list = t.Cli.Run("checkpoints", "--json");
        Assert.Contains("\"by-root\"", list.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("by-nobody", list.Stdout, StringComparison.Ordinal);
    }

    private static string[] FdNumbers(string listing)
        => [.. listing.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[0]).Order(StringComparer.Ordinal)];
}
