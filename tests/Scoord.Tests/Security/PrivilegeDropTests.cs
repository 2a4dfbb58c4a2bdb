using Scoord.Tests.Support;
using Scoord.Tests.Tracing;

namespace Scoord.Tests.Security;

/// <summary>
/// scoord run as root, tracing a program that drops its privileges: the program can do exactly what it
/// could without scoord, and reads nothing through scoord it could not read itself (docs/security.md).
/// </summary>
public sealed class PrivilegeDropTests
{
    private const string Secret = "SECRET-7f3a9c-only-root-reads-this";

    [Fact]
    public void AProgramThatDroppedToNobody_GetsTheSameRefusalsAsWithoutScoord_AndChangesNothing()
    {
        if (Environment.UserName != "root")
        {
            return; // scoord must run as root for this; CI runs as root
        }

        using var t = new TracedRun();
        File.SetUnixFileMode(t.Tree.Path, (UnixFileMode)0x1ED); // 0755, root's: nobody may look, not write
        t.Tree.CreateDirectory("rootonly");
        File.SetUnixFileMode(t.Path("rootonly"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        t.Tree.WriteFile("rootonly/secret", Secret + "\n");
        File.SetUnixFileMode(t.Path("rootonly/secret"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        t.Tree.WriteFile("public", "public\n");
        File.SetUnixFileMode(t.Path("public"), (UnixFileMode)0x1A4); // 0644
        string script = string.Join('\n',
            "try() { if sh -c \"$1\" 2>&1; then echo \"[$1] ok\"; else echo \"[$1] failed\"; fi; }",
            "try 'echo x > rootonly/new'",
            "try 'cat rootonly/secret'",
            "try 'ls rootonly'",
            "try 'echo x >> public'",
            "try ': > public'",
            "try 'truncate -s 0 public'",
            "try ': > rootonly/secret'",
            "try 'rm -f public'",
            "try 'mv public moved'",
            "try 'mkdir newdir'",
            "try 'chmod 777 public'",
            "try 'touch public'",
            "try 'ln -s public sl'",
            "try 'id -u'");
        string[] dropped = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-c", script];
        // Create the journal (and the log's first records) before taking the listing.
        Assert.Equal(0, t.Sh("true").ExitCode);
        string before = RollbackSymlinkTests.Listing(t.Tree.Path);
        string atimes = Atimes(t);

        (int directExit, string direct) = Exec(t.Tree.Path, dropped);
        CliResult traced = t.Run(dropped);

        Assert.Equal(directExit, traced.ExitCode);
        Assert.Equal(direct, traced.Stdout + traced.Stderr);
        Assert.Contains("[id -u] ok", direct, StringComparison.Ordinal);
        Assert.Contains("65534", direct, StringComparison.Ordinal);
        Assert.Equal(13, direct.Split('\n').Count(l => l.EndsWith("] failed", StringComparison.Ordinal)));
        Assert.DoesNotContain(Secret, traced.Stdout + traced.Stderr, StringComparison.Ordinal);
        // Nothing changed: no entry, byte, mode or mtime; and scoord's reads for undo data moved no atime.
        Assert.Equal(before, RollbackSymlinkTests.Listing(t.Tree.Path));
        Assert.Equal(atimes, Atimes(t));
        // The kernel's refusals are journaled as the program's failed operations, not as scoord's refusals.
        IReadOnlyList<LogLine> log = t.Log();
        Assert.Contains(log, l => l.Path == t.Path("public") && l.Status == "failed" && l.Errno == "EACCES" && !l.Refused);

        // The undo data lives in the journal, which is root's and owner-only: nobody cannot read it,
        // neither the files nor through scoord.
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(t.Journal));
        (int catExit, string cat) = Exec(t.Tree.Path, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-c", $"cat '{t.Journal}'/db/* 2>&1 | grep -c {Secret}");
        Assert.True(catExit != 0 && cat.Trim() == "0", cat);
        (int logExit, string logOut) = Exec(t.Tree.Path, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
            "env", "SCOORD_JOURNAL=" + t.Journal, "HOME=/tmp", "DOTNET_CLI_HOME=/tmp", ScoordCli.BinaryPath, "log");
        Assert.True(logExit != 0, logOut);
        string[] lines = logOut.TrimEnd('\n').Split('\n');
        Assert.True(lines.Length == 1 && lines[0].StartsWith("scoord: ", StringComparison.Ordinal), logOut);
    }

    private static string Atimes(TracedRun t)
        => JournalProtectionTests.Exec("stat", "-c", "%n %X", t.Path("public"), t.Path("rootonly/secret"), t.Path("rootonly")).Stdout;

    private static (int Exit, string Output) Exec(string cwd, params string[] argv)
    {
        var psi = new System.Diagnostics.ProcessStartInfo(argv[0]) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = cwd };
        foreach (string a in argv[1..])
        {
            psi.ArgumentList.Add(a);
        }

        using var p = System.Diagnostics.Process.Start(psi)!;
        Task<string> err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(60_000));
        return (p.ExitCode, output + err.Result);
    }
}
