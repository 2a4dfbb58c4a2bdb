using System.Diagnostics;
using System.Security.Cryptography;
using Scoord.Tests.Support;
using Scoord.Tests.Tracing;

namespace Scoord.Tests.Security;

/// <summary>
/// The traced app cannot change the journal directory by any syscall or route (docs/security.md), with
/// the kernel's protection (a read-only bind mount in a private mount namespace, when root) and with the
/// tracer's path and identity checks alone (SCOORD_NO_MOUNT_PROTECTION=1, what non-root runs get).
/// </summary>
public sealed class JournalProtectionTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void EverySyscallFamilyAndRoute_IsRefusedWithEacces_AndTheJournalStaysIntact(bool mountProtection)
    {
        using var t = new TracedRun();
        if (!mountProtection)
        {
            t.Cli.Environment["SCOORD_NO_MOUNT_PROTECTION"] = "1";
        }

        Assert.Equal(0, t.Sh("true").ExitCode); // the journal exists before the attack
        string j = t.Journal;
        string outside = t.Tree.Path;
        t.Tree.WriteFile("victim", "victim\n");
        // A journal file hard-linked out of the journal before the run (root can always do this).
        string hardlink = t.Tree.Combine("marker-hardlink");
        Sh($"ln '{j}/SCOORD' '{hardlink}'");
        string exe = TracedRun.Compile(t.JournalTree, "journal-attack", JournalAttack.Source);
        Dictionary<string, string> before = Fingerprint(j, hardlink);

        CliResult run = t.Run(exe, j, outside, hardlink);

        Assert.True(run.ExitCode == 0, run.ToString());
        string[] lines = run.StdoutLines;
        Assert.Equal("done", lines[^1]);
        string[] attempts = lines[..^1];
        Assert.True(attempts.Length == 67, run.ToString()); // every TRY of JournalAttack ran
        foreach (string line in attempts)
        {
            string[] f = line.Split(' ');
            Assert.True(f.Length == 3 && f[1] == "-1" && f[2] == "EACCES", $"{line} (expected EACCES)\n{run}");
        }

        // Nothing changed: the same journal files with the same bytes, modes and owners, no new names
        // in the journal, nothing moved out of it, its parent still in place.
        Assert.Equal(before, Fingerprint(j, hardlink));
        Assert.DoesNotContain(Directory.EnumerateFileSystemEntries(j, "*", SearchOption.AllDirectories).Select(Path.GetFileName),
            n => n!.StartsWith("new", StringComparison.Ordinal) || n is "planted" or "victim-link" or "victim-linkat" or "sl" or "slat"
                or "fifo" or "regnod" or "attack.sock");
        foreach (string stolen in new[] { "stolen", "marker-link", "db-stolen", "cur2", "cwd-stolen" })
        {
            Assert.False(Path.Exists(t.Tree.Combine(stolen)), stolen + " appeared outside the journal");
        }

        Assert.Equal("victim\n", File.ReadAllText(t.Tree.Combine("victim")));
        Assert.False(Directory.Exists(t.JournalTree.Path + "-moved"));

        // The journal still works: it lists the refusals, and takes another run.
        IReadOnlyList<LogLine> log = t.Log();
        int refused = log.Count(l => l.Refused && l.Errno == "EACCES");
        Assert.True(refused >= attempts.Length, $"{refused} refusals journaled for {attempts.Length} attempts\n{RunJournalTests.Dump(log)}");
        Assert.Equal(0, t.Sh("echo after > after.txt").ExitCode);
        Assert.Contains(t.Log(), l => l.Path == t.Path("after.txt") && l.Status == "completed");
    }

    [Fact]
    public void TheAttackProgram_ReallyChangesAnUnprotectedDirectory()
    {
        // The same program against a look-alike directory outside scoord: its operations are real, so
        // the EACCES above comes from scoord, not from the program.
        using var tree = new TempTree("scoord-attack-control-");
        string j = tree.CreateDirectory("fake/j");
        tree.CreateDirectory("fake/j/db");
        tree.WriteFile("fake/j/SCOORD", "scoord journal\nformat 1\n");
        tree.WriteFile("fake/j/scoord.lock", "1\n");
        tree.WriteFile("fake/j/db/CURRENT", "MANIFEST-000005\n");
        string outside = tree.CreateDirectory("out");
        tree.WriteFile("out/victim", "victim\n");
        Sh($"ln '{j}/SCOORD' '{outside}/hl'");
        string exe = TracedRun.Compile(tree, "journal-attack", JournalAttack.Source);

        (int exit, string stdout) = Exec(exe, j, outside, outside + "/hl");

        Assert.Equal(0, exit);
        string[] lines = stdout.TrimEnd('\n').Split('\n');
        Assert.Equal("done", lines[^1]);
        Assert.DoesNotContain(lines, l => l.EndsWith(" EACCES", StringComparison.Ordinal));
        Assert.True(lines.Count(l => l.EndsWith(" OK", StringComparison.Ordinal)) >= 30, stdout);
    }

    [Fact]
    public void AnFdOnAJournalFileInheritedFromBeforeTheRun_CannotBeWrittenThrough()
    {
        using var t = new TracedRun();
        Assert.Equal(0, t.Sh("true").ExitCode);
        string marker = Path.Combine(t.Journal, "SCOORD");
        string before = File.ReadAllText(marker);
        // The shell opens fd 7 on a journal file, then becomes scoord: the app inherits fd 7.
        (int exit, string stdout) = Exec("/bin/sh", "-c",
            $"exec 7>>'{marker}'; cd '{t.Tree.Path}'; SCOORD_JOURNAL='{t.Journal}' exec {ScoordCommand()} run -- sh -c 'echo garbage >&7 && echo LEAK; echo end'");
        Assert.True(exit == 0, stdout);
        Assert.DoesNotContain("LEAK", stdout);
        Assert.Contains("end", stdout);
        Assert.Equal(before, File.ReadAllText(marker));
        Assert.Contains(t.Log(), l => l.Op == "write" && l.Refused && l.Errno == "EACCES");
    }

    [Fact]
    public void AsRoot_TheJournalIsAReadOnlyMountInTheAppsOwnMountNamespace_AndCheckpointsFromInsideStillWork()
    {
        using var t = new TracedRun();
        Assert.Equal(0, t.Sh("true").ExitCode);
        string script = "readlink /proc/self/ns/mnt; awk '{print $5, $6}' /proc/self/mountinfo; echo ---; "
            + $"{ScoordCommand()} checkpoint --name from-inside; echo rc=$?";
        CliResult run = t.Sh(script);
        Assert.True(run.ExitCode == 0, run.ToString());
        string[] lines = run.StdoutLines;
        if (Environment.UserName != "root")
        {
            return; // non-root: the launcher falls back to path checks (the theory above covers them)
        }

        Assert.NotEqual(File.ResolveLinkTarget("/proc/self/ns/mnt", false)?.LinkTarget ?? "", lines[0]);
        Assert.Contains(lines, l => l.StartsWith(t.Journal + " ", StringComparison.Ordinal) && l.Split(' ')[1].Split(',').Contains("ro"));
        // The host's view is unchanged: the journal is not a mount point here.
        Assert.DoesNotContain(File.ReadAllLines("/proc/self/mountinfo"), l => l.Split(' ')[4] == t.Journal);
        // connect() to the control socket on the read-only mount works.
        Assert.Equal("rc=0", lines[^1]);
        Assert.Contains(t.Cli.Run("checkpoints", "--json").Stdout.Split('\n'), l => l.Contains("\"from-inside\"", StringComparison.Ordinal));
    }

    [Fact]
    public void TheJournalDirectory_IsOwnerOnly_EvenWhenItExistedWithAWiderMode()
    {
        using var t = new TracedRun();
        Assert.Equal(0, t.Sh("true").ExitCode);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(t.Journal));
        File.SetUnixFileMode(t.Journal, (UnixFileMode)0x1ED /* 0755 */);
        Assert.Equal(0, t.Sh("true").ExitCode);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(t.Journal));
    }

    /// <summary>
    /// Mode and owner of the journal's directories and files; content, link count and mtime of the files
    /// a coordinator never rewrites (scoord.lock holds the pid, CURRENT names the newest MANIFEST).
    /// </summary>
    private static Dictionary<string, string> Fingerprint(string j, string hardlink)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string p in new[] { j, j + "/db", j + "/scoord.lock", j + "/db/CURRENT" })
        {
            result[p] = $"{new FileInfo(p).UnixFileMode} {Stat(p, "%u:%g %F")}";
        }

        foreach (string p in new[] { j + "/SCOORD", j + "/db/IDENTITY", hardlink })
        {
            result[p] = $"{Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(p)))} {new FileInfo(p).UnixFileMode} {Stat(p, "%u:%g %h %Y")}";
        }

        return result;
    }

    private static string Stat(string path, string format) => Exec("stat", "-c", format, path).Stdout.Trim();

    internal static string ScoordCommand()
    {
        string bin = ScoordCli.BinaryPath;
        return bin.EndsWith(".dll", StringComparison.Ordinal) ? $"dotnet '{bin}'" : $"'{bin}'";
    }

    internal static void Sh(string script)
    {
        (int exit, string stdout) = Exec("/bin/sh", "-c", script);
        Assert.True(exit == 0, script + ": " + stdout);
    }

    /// <summary>Runs a program outside scoord; stdout and stderr together.</summary>
    internal static (int Exit, string Stdout) Exec(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment.Remove("SCOORD_JOURNAL");
        using Process p = Process.Start(psi)!;
        Task<string> err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(120_000), file + " did not finish");
        return (p.ExitCode, output + err.Result);
    }
}
