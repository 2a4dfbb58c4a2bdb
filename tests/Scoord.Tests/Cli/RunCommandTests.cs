using Scoord.Tests.Support;
using Xunit;

namespace Scoord.Tests.Cli;

/// <summary>`scoord run` and `scoord demo` end to end: these need the tracer (Scoord.Coordinator.Runner).</summary>
public sealed class RunCommandTests
{
    [Fact]
    public void Run_then_log_json_shows_create_write_rename_unlink_with_absolute_paths()
    {
        using var tree = new TempTree();
        string work = tree.CreateDirectory("work");
        var cli = new ScoordCli(tree.Combine("journal"), work);
        CliResult run = cli.Run("run", "--", "sh", "-c", "echo a > f; mv f g; rm g");
        Assert.True(run.ExitCode == 0, run.ToString());

        IReadOnlyList<LogLine> log = cli.Run("log", "--json").LogLines;
        Assert.Contains(log, l => l.Op is "openat" or "open" or "creat" && l.Path == work + "/f" && l.Status == "completed");
        Assert.Contains(log, l => l.Op == "write" && l.Path == work + "/f" && l.Result == 2);
        Assert.Contains(log, l => l.Op.StartsWith("rename", StringComparison.Ordinal) && l.Path == work + "/f" && l.Path2 == work + "/g" && l.Result == 0);
        Assert.Contains(log, l => l.Op.StartsWith("unlink", StringComparison.Ordinal) && l.Path == work + "/g" && l.Result == 0);
        Assert.All(log, l => Assert.Equal(LogLine.RequiredKeys, l.Keys));
    }

    [Fact]
    public void TheDefaultJournalInsideAGitWorkTree_IsNotAddedByGitAddUnderScoordRun()
    {
        // The default journal is ./.scoord: inside the user's repository. `git add -A` under scoord must
        // not add it (nor hash the fast path's ring while it is written: seconds per call).
        using var tree = new TempTree();
        string repo = tree.CreateDirectory("repo");
        Scoord.Tests.Scenarios.ScenarioRun.OutsideIn(repo, "git", "init", "-q", ".");
        File.WriteAllText(Path.Combine(repo, "a.txt"), "a\n");
        var cli = new ScoordCli(journalDirectory: null, workingDirectory: repo);
        foreach ((string k, string v) in Scoord.Tests.Scenarios.ScenarioRun.GitEnvironment)
        {
            cli.Environment[k] = v;
        }

        CliResult run = cli.Run("run", "--", "sh", "-c", "git add -A && git ls-files");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.True(Directory.Exists(Path.Combine(repo, ".scoord", "db")), "the journal is the default ./.scoord");
        Assert.Equal("a.txt\n", run.Stdout);
        Assert.Equal("*", File.ReadAllLines(Path.Combine(repo, ".scoord", ".gitignore")).Last());
    }

    [Fact]
    public void Run_exits_with_the_program_status()
    {
        using var tree = new TempTree();
        CliResult r = new ScoordCli(tree.Combine("journal"), tree.Path).Run("run", "--", "sh", "-c", "exit 7");
        Assert.True(r.ExitCode == 7, r.ToString());
        Assert.Equal(string.Empty, r.Stderr);
    }

    [Fact]
    public void Run_exits_with_128_plus_the_signal()
    {
        using var tree = new TempTree();
        CliResult r = new ScoordCli(tree.Combine("journal"), tree.Path).Run("run", "--", "sh", "-c", "kill -TERM $$");
        Assert.True(r.ExitCode == 128 + 15, r.ToString());
    }

    [Fact]
    public void Arguments_after_the_program_reach_it_verbatim()
    {
        using var tree = new TempTree();
        CliResult r = new ScoordCli(tree.Combine("journal"), tree.Path)
            .Run("run", "sh", "-c", "printf '%s|' \"$@\"", "sh", "--json", "-v", "--", "--journal", "x");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("--json|-v|--|--journal|x|", r.Stdout);
    }

    [Fact]
    public void Stdin_passes_through()
    {
        using var tree = new TempTree();
        CliResult r = new ScoordCli(tree.Combine("journal"), tree.Path).Run(["run", "--", "cat"], stdin: "from stdin\n");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("from stdin\n", r.Stdout);
    }

    [Fact]
    public void Missing_program_is_one_line_and_nonzero()
    {
        using var tree = new TempTree();
        CliResult r = new ScoordCli(tree.Combine("journal"), tree.Path).Run("run", "--", "no-such-program-scoord");
        Assert.True(r.ExitCode != 0, r.ToString());
        string line = Assert.Single(r.StderrLines);
        Assert.StartsWith("scoord: ", line, StringComparison.Ordinal);
        Assert.Contains("no-such-program-scoord", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Demo_ShowsJournalDiffAndRollback_RemovesItsTemporaryDirectories_AndPrintsRunnableCommands()
    {
        CliResult r = new ScoordCli().Run("demo");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("renameat", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("symlink", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("ENOENT", r.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^  D /\S+/notes\.txt$", r.Stdout); // the diff against the checkpoint
        Assert.Contains("the tree now holds: notes.txt", r.Stdout, StringComparison.Ordinal); // the rollback
        string shLine = r.StdoutLines.Single(l => l.StartsWith("$ sh -c 'cd ", StringComparison.Ordinal));
        string tree = shLine["$ sh -c 'cd ".Length..shLine.IndexOf(" && ", StringComparison.Ordinal)];
        Assert.False(Directory.Exists(tree), "the demo's temporary tree is removed: " + tree);

        // The suggested commands name this very scoord, runnable without it on PATH.
        string suggestion = r.StdoutLines.First(l => l.TrimStart().EndsWith(" checkpoint --name before", StringComparison.Ordinal)).Trim();
        string[] words = suggestion[..^" checkpoint --name before".Length].Split(' ');
        string[] args = [.. words.Skip(1), "--version"];
        var psi = new System.Diagnostics.ProcessStartInfo(words[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = System.Diagnostics.Process.Start(psi)!;
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"`{suggestion[..^" checkpoint --name before".Length]} --version` exited {p.ExitCode}");
    }
}
