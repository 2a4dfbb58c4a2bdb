using System.CommandLine;
using Scoord.Cli;
using Scoord.Cli.Parsing;
using Xunit;

namespace Scoord.Tests.Cli;

public sealed class ArgumentPreparerTests
{
    private static string[] Prepare(params string[] args)
    {
        var root = new RootCommand("t");
        new GlobalOptions().AddTo(root);
        var run = new Command("run") { new Option<string>("--durability"), new Option<string[]>("--exclude"), new Argument<string[]>("command") };
        root.Add(run);
        root.Add(new Command("log") { new Option<string>("--path") });
        return ArgumentPreparer.Prepare(args, root, run);
    }

    [Fact]
    public void Run_GlobalOptionWithValueAfterRun_KeepsItsValue()
    {
        Assert.Equal(["run", "--journal", "/tmp/j", "--", "sh", "-c", "x"], Prepare("run", "--journal", "/tmp/j", "sh", "-c", "x"));
        Assert.Equal(["run", "--journal", "/tmp/j", "--", "true"], Prepare("run", "--journal", "/tmp/j", "--", "true"));
    }

    [Fact]
    public void Program_after_options_gets_a_double_dash()
    {
        Assert.Equal(["run", "--durability", "strict", "--", "sh", "-c", "x", "--json"], Prepare("run", "--durability", "strict", "sh", "-c", "x", "--json"));
    }

    [Fact]
    public void Existing_double_dash_is_kept_and_everything_after_it_is_verbatim()
    {
        Assert.Equal(["run", "--", "sh", "--", "-v"], Prepare("run", "--", "sh", "--", "-v"));
    }

    [Fact]
    public void Global_options_before_the_command_are_copied_with_their_values()
    {
        Assert.Equal(["--journal", "run", "run", "--", "run"], Prepare("--journal", "run", "run", "run"));
    }

    [Fact]
    public void Verbose_level_becomes_the_hidden_verbosity_option()
    {
        Assert.Equal(["--verbosity", "debug", "log"], Prepare("-v", "debug", "log"));
        Assert.Equal(["log", "--verbosity=trace"], Prepare("log", "--verbose=trace"));
        Assert.Equal(["run", "-v", "--", "debug"], Prepare("run", "-v", "--", "debug"));
        Assert.Equal(["run", "-vv", "--", "sh"], Prepare("run", "-vv", "sh"));
    }

    [Fact]
    public void Verbose_before_a_program_name_does_not_eat_it()
    {
        Assert.Equal(["run", "-v", "--", "sh"], Prepare("run", "-v", "sh"));
    }

    [Fact]
    public void Unknown_option_before_the_program_is_refused()
    {
        UsageException e = Assert.Throws<UsageException>(() => Prepare("run", "--nope", "sh"));
        Assert.Contains("'--nope'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Option_value_that_looks_like_a_program_stays_the_value()
    {
        Assert.Equal(["run", "--exclude", "/tmp", "--", "make"], Prepare("run", "--exclude", "/tmp", "make"));
        Assert.Equal(["log", "--path", "-v"], Prepare("log", "--path", "-v"));
    }
}
