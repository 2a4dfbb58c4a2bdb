using Scoord.Tests.Support;
using Xunit;

namespace Scoord.Tests.Cli;

/// <summary>Bad input through the real binary: one line on stderr, a non-zero exit, no stack trace.</summary>
public sealed class CliErrorTests
{
    private static void AssertOneErrorLine(CliResult r, int exitCode, string contains)
    {
        Assert.True(r.ExitCode == exitCode, r.ToString());
        string[] lines = r.StderrLines;
        Assert.True(lines.Length == 1, r.ToString());
        Assert.StartsWith("scoord: ", lines[0], StringComparison.Ordinal);
        Assert.Contains(contains, lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.Stderr, StringComparison.Ordinal);
        Assert.Equal(string.Empty, r.Stdout);
    }

    [Fact]
    public void Unknown_option_is_one_line_and_exit_2()
    {
        using var tree = new TempTree();
        AssertOneErrorLine(new ScoordCli(tree.Path).Run("log", "--bogus"), 2, "'--bogus'");
    }

    [Fact]
    public void Unknown_global_option_is_one_line_and_exit_2()
    {
        using var tree = new TempTree();
        AssertOneErrorLine(new ScoordCli(tree.Path).Run("--bogus"), 2, "'--bogus'");
    }

    [Fact]
    public void Unknown_command_is_one_line_and_exit_2()
    {
        using var tree = new TempTree();
        AssertOneErrorLine(new ScoordCli(tree.Path).Run("frobnicate"), 2, "'frobnicate'");
    }

    [Fact]
    public void Log_without_a_journal_says_no_journal_at_the_absolute_path()
    {
        using var tree = new TempTree();
        string missing = tree.Combine("nothing-here");
        AssertOneErrorLine(new ScoordCli(missing).Run("log"), 1, "no journal at " + missing);
    }

    [Fact]
    public void Rollback_without_a_journal_says_no_journal_and_creates_none()
    {
        // rollback opens the journal for writing (once): a missing one must not be created by it.
        using var tree = new TempTree();
        string missing = tree.Combine("nothing-here");
        AssertOneErrorLine(new ScoordCli(missing).Run("rollback", "1"), 1, "no journal at " + missing);
        Assert.False(Directory.Exists(missing), "rollback created a journal");
    }

    [Fact]
    public void Default_journal_is_dot_scoord_in_the_working_directory()
    {
        using var tree = new TempTree();
        var cli = new ScoordCli(journalDirectory: null, workingDirectory: tree.Path);
        AssertOneErrorLine(cli.Run("status"), 1, "no journal at " + tree.Combine(".scoord"));
    }

    [Fact]
    public void Journal_option_wins_over_the_environment()
    {
        using var tree = new TempTree();
        string fromOption = tree.Combine("from-option");
        var cli = new ScoordCli(tree.Combine("from-env"));
        AssertOneErrorLine(cli.Run("log", "--journal", fromOption), 1, "no journal at " + fromOption);
    }

    [Fact]
    public void Relative_journal_is_made_absolute()
    {
        using var tree = new TempTree();
        var cli = new ScoordCli(journalDirectory: null, workingDirectory: tree.Path);
        AssertOneErrorLine(cli.Run("--journal", "rel/j", "log"), 1, "no journal at " + tree.Combine("rel", "j"));
    }

    [Fact]
    public void Log_on_a_foreign_directory_is_refused()
    {
        using var tree = new TempTree();
        tree.WriteFile("foreign/notes.txt", "not a journal");
        string foreign = tree.Combine("foreign");
        AssertOneErrorLine(new ScoordCli(foreign).Run("log"), 1, foreign + " is not a scoord journal");
        Assert.Equal(["notes.txt"], Directory.GetFileSystemEntries(foreign).Select(Path.GetFileName));
    }

    [Fact]
    public void Status_on_a_foreign_directory_is_refused()
    {
        using var tree = new TempTree();
        tree.WriteFile("foreign/x", "x");
        AssertOneErrorLine(new ScoordCli(tree.Combine("foreign")).Run("status", "--json"), 1, "is not a scoord journal");
    }

    [Fact]
    public void Run_without_a_program_is_a_usage_error()
    {
        using var tree = new TempTree();
        AssertOneErrorLine(new ScoordCli(tree.Combine("j")).Run("run"), 2, "no program given");
        AssertOneErrorLine(new ScoordCli(tree.Combine("j")).Run("run", "--"), 2, "no program given");
        Assert.False(Directory.Exists(tree.Combine("j")));
    }

    [Fact]
    public void Run_with_an_unknown_option_before_the_program_is_a_usage_error()
    {
        using var tree = new TempTree();
        AssertOneErrorLine(new ScoordCli(tree.Combine("j")).Run("run", "--bogus", "true"), 2, "unknown option '--bogus'");
    }

    [Theory]
    [InlineData("--checkpoint-every", "5", "not a duration")]
    [InlineData("--checkpoint-every", "soon", "not a duration")]
    [InlineData("--durability", "sometimes", "not one of process, sync-points, strict")]
    public void Run_with_a_bad_option_value_is_a_usage_error(string option, string value, string message)
    {
        using var tree = new TempTree();
        AssertOneErrorLine(new ScoordCli(tree.Combine("j")).Run("run", option, value, "--", "true"), 2, message);
        Assert.False(Directory.Exists(tree.Combine("j")));
    }

    [Fact]
    public void Log_with_an_unknown_op_is_a_usage_error()
    {
        using var tree = new TempTree();
        AssertOneErrorLine(new ScoordCli(tree.Path).Run("log", "--op", "openat,frob"), 2, "unknown operation 'frob'");
    }

    [Fact]
    public void Log_with_a_bad_pid_is_a_usage_error()
    {
        using var tree = new TempTree();
        AssertOneErrorLine(new ScoordCli(tree.Path).Run("log", "--pid", "x"), 2, "--pid: 'x' is not a process id");
    }

    [Fact]
    public void Option_value_missing_is_a_usage_error()
    {
        using var tree = new TempTree();
        AssertOneErrorLine(new ScoordCli(tree.Path).Run("log", "--path"), 2, "--path");
    }

    [Fact]
    public void No_command_prints_help()
    {
        CliResult r = new ScoordCli().Run();
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("Usage:", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("run", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("log", r.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Verbose_logging_goes_to_stderr_only()
    {
        using var tree = new TempTree();
        JournalFixtures.WriteSample(tree.Combine("j"));
        CliResult quiet = new ScoordCli(tree.Combine("j")).Run("log", "--json");
        CliResult loud = new ScoordCli(tree.Combine("j")).Run("-vv", "log", "--json");
        Assert.True(loud.ExitCode == 0, loud.ToString());
        Assert.Equal(quiet.Stdout, loud.Stdout);
        Assert.Equal(string.Empty, quiet.Stderr);
        Assert.Contains("dbug", loud.Stderr, StringComparison.Ordinal);
    }
}
