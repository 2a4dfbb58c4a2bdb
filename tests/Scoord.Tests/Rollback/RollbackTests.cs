using Scoord.Tests.Support;
using Scoord.Tests.Tracing;

namespace Scoord.Tests.Rollback;

/// <summary>
/// `scoord rollback` and `scoord diff` end to end: real programs under `scoord run`, an offline
/// `scoord checkpoint`, and the tree compared with a snapshot taken at the checkpoint.
/// </summary>
public sealed class RollbackTests : IDisposable
{
    private const string Setup = "mkdir d; echo a > d/f; echo keep > k; mkdir empty; ln -s d/f link; echo x > h1; ln h1 h2; setfattr -n user.color -v blue k 2>/dev/null || true";
    private const string Edit = "echo b >> d/f; rm k; mv d e; chmod 600 e/f; echo new > n; mkdir nd; echo z > nd/z; rmdir empty; rm link; ln -s n link; echo y >> h1; rm h2; touch -d 2001-01-01 h1";

    private readonly TracedRun _run = new();

    public void Dispose() => _run.Dispose();

    private CliResult Ok(CliResult r)
    {
        Assert.True(r.ExitCode == 0, r.ToString());
        return r;
    }

    private string Checkpoint(string? name = null)
    {
        CliResult r = Ok(name is null ? _run.Cli.Run("checkpoint") : _run.Cli.Run("checkpoint", "--name", name));
        return r.Stdout.Trim();
    }

    private TreeSnapshot Snap() => TreeSnapshot.Take(_run.Tree.Path);

    [Fact]
    public void Rollback_restores_the_tree_of_the_checkpoint()
    {
        Ok(_run.Sh(Setup));
        string id = Checkpoint();
        Assert.Equal("1", id);
        TreeSnapshot atCheckpoint = Snap();
        Ok(_run.Sh(Edit));
        Assert.NotEqual(atCheckpoint.ToString(), Snap().ToString());

        CliResult r = _run.Cli.Run("rollback", "1");
        Assert.True(r.ExitCode == 0, r.ToString());
        atCheckpoint.AssertEqual(Snap());

        // The rollback is an event of its own in the log, and its actions are journaled (flag Rollback).
        IReadOnlyList<LogLine> log = _run.Log();
        Assert.Contains(log, l => l.Op == "rollback");
    }

    [Fact]
    public void Rollback_twice_is_idempotent()
    {
        Ok(_run.Sh(Setup));
        Checkpoint();
        TreeSnapshot atCheckpoint = Snap();
        Ok(_run.Sh(Edit));
        Ok(_run.Cli.Run("rollback", "1"));
        atCheckpoint.AssertEqual(Snap());
        Ok(_run.Cli.Run("rollback", "1"));
        atCheckpoint.AssertEqual(Snap());
    }

    [Fact]
    public void Rollback_of_a_rollback_gives_back_the_later_state()
    {
        Ok(_run.Sh(Setup));
        Checkpoint("first");
        TreeSnapshot first = Snap();
        Ok(_run.Sh(Edit));
        Checkpoint("second");
        TreeSnapshot second = Snap();

        Ok(_run.Cli.Run("rollback", "first"));
        first.AssertEqual(Snap());
        Ok(_run.Cli.Run("rollback", "second"));
        second.AssertEqual(Snap());
        Ok(_run.Cli.Run("rollback", "1"));
        first.AssertEqual(Snap());
    }

    [Fact]
    public void A_new_run_continues_from_the_restored_state()
    {
        Ok(_run.Sh(Setup));
        Checkpoint();
        Ok(_run.Sh(Edit));
        Checkpoint();
        Ok(_run.Cli.Run("rollback", "1")); // takes checkpoint 3 (before-rollback-3) first
        TreeSnapshot restored = Snap();
        Ok(_run.Sh("echo more >> d/f; rm k"));
        Checkpoint(); // 4
        Ok(_run.Cli.Run("rollback", "4"));
        Assert.Equal("a\nmore\n", File.ReadAllText(_run.Path("d/f")));
        Ok(_run.Cli.Run("rollback", "1"));
        restored.AssertEqual(Snap());
    }

    [Fact]
    public void A_file_changed_outside_the_journal_is_a_conflict_left_alone_unless_forced()
    {
        Ok(_run.Sh(Setup));
        Checkpoint();
        TreeSnapshot atCheckpoint = Snap();
        Ok(_run.Sh("echo b >> d/f; echo c >> k; rm h2"));
        File.AppendAllText(_run.Path("k"), "outside\n");

        CliResult r = _run.Cli.Run("rollback", "1");
        Assert.True(r.ExitCode == 3, r.ToString());
        Assert.Contains("conflict: " + _run.Path("k") + " changed outside the journal", r.Stderr);
        Assert.Equal("keep\nc\noutside\n", File.ReadAllText(_run.Path("k")));
        Assert.Equal("a\n", File.ReadAllText(_run.Path("d/f"))); // the rest is restored
        Assert.True(File.Exists(_run.Path("h2")));

        r = _run.Cli.Run("rollback", "1", "--force");
        Assert.True(r.ExitCode == 0, r.ToString());
        atCheckpoint.AssertEqual(Snap());
    }

    [Fact]
    public void A_symlink_planted_in_place_of_a_directory_is_not_followed()
    {
        using var outside = new TempTree("scoord-outside-");
        File.WriteAllText(outside.Combine("f"), "outside content\n");
        TreeSnapshot outsideBefore = TreeSnapshot.Take(outside.Path);
        Ok(_run.Sh(Setup));
        Checkpoint();
        Ok(_run.Sh("echo b >> d/f; chmod 600 d/f"));

        // Someone replaces d with a symlink to a directory outside the tree holding an f.
        Directory.Move(_run.Path("d"), _run.Path("d.moved"));
        File.CreateSymbolicLink(_run.Path("d"), outside.Path);

        CliResult r = _run.Cli.Run("rollback", "1", "--force");
        Assert.NotEqual(0, r.ExitCode);
        outsideBefore.AssertEqual(TreeSnapshot.Take(outside.Path));
        Assert.Equal("outside content\n", File.ReadAllText(outside.Combine("f")));
    }

    [Fact]
    public void Dry_run_lists_the_changes_and_changes_nothing()
    {
        Ok(_run.Sh(Setup));
        Checkpoint();
        Ok(_run.Sh(Edit));
        TreeSnapshot before = Snap();
        string logBefore = Ok(_run.Cli.Run("log", "--json")).Stdout;

        CliResult r = Ok(_run.Cli.Run("rollback", "1", "--dry-run"));
        Assert.Contains("recreate " + _run.Path("k"), r.StdoutLines);
        Assert.Contains("remove " + _run.Path("n"), r.StdoutLines);
        Assert.Contains("rename " + _run.Path("e") + " -> " + _run.Path("d"), r.StdoutLines);
        Assert.Contains(r.StdoutLines, l => l.StartsWith("restore " + _run.Path("e/f") + " (content", StringComparison.Ordinal));

        before.AssertEqual(Snap());
        Assert.Equal(logBefore, Ok(_run.Cli.Run("log", "--json")).Stdout);
    }

    [Fact]
    public void Holes_stay_holes()
    {
        Ok(_run.Sh("truncate -s 1M sparse"));
        Checkpoint();
        TreeSnapshot atCheckpoint = Snap();
        Ok(_run.Sh("dd if=/dev/urandom of=sparse bs=4096 seek=100 count=4 conv=notrunc status=none; truncate -s 2M sparse"));
        Assert.True(TreeSnapshot.Blocks(_run.Path("sparse")) >= 32);

        Ok(_run.Cli.Run("rollback", "1"));
        atCheckpoint.AssertEqual(Snap());
        Assert.True(TreeSnapshot.Blocks(_run.Path("sparse")) < 16, "blocks: " + TreeSnapshot.Blocks(_run.Path("sparse")));
    }

    [Fact]
    public void Diff_shows_what_changed_since_the_checkpoint()
    {
        Ok(_run.Sh(Setup));
        Checkpoint();
        Ok(_run.Sh("echo b >> d/f; rm k; mv d e; echo new > n; chmod 600 h1"));

        string[] lines = Ok(_run.Cli.Run("diff", "1")).StdoutLines;
        Assert.Contains($"R {_run.Path("d")}/ -> {_run.Path("e")}/", lines);
        Assert.Contains($"M {_run.Path("e/f")} (+2 bytes)", lines);
        Assert.Contains($"D {_run.Path("k")}", lines);
        Assert.Contains($"A {_run.Path("n")}", lines);
        Assert.Contains($"m {_run.Path("h1")} (mode)", lines);

        string json = Ok(_run.Cli.Run("diff", "1", "--json")).Stdout;
        Assert.Contains($"{{\"path\":\"{_run.Path("k")}\",\"change\":\"deleted\",\"path2\":null,\"bytes\":null}}", json);
        Assert.Contains($"{{\"path\":\"{_run.Path("e/f")}\",\"change\":\"modified\",\"path2\":null,\"bytes\":2}}", json);
    }

    [Fact]
    public void A_removed_file_comes_back_whole_in_one_journaled_action()
    {
        // Everything a file has, kept when `rm -rf` removed it: data with a hole inside and one at the end,
        // an owner other than the rollback's, set-id bits (a chown clears them: the mode must come after),
        // an xattr, and old times.
        const string Setup =
            "mkdir d; printf head > d/sparse; dd if=/dev/urandom of=d/sparse bs=4096 seek=64 count=2 conv=notrunc status=none; " +
            "truncate -s 1M d/sparse; echo secret > d/setid; chown 65534:65534 d/setid; chmod 6750 d/setid; " +
            "echo tagged > d/tagged; python3 -c \"import os; os.setxattr('d/tagged', 'user.color', b'blue')\"; " +
            ": > d/empty; touch -d 2001-02-03 d/sparse d/setid d/tagged d/empty";
        Ok(_run.Sh(Setup));
        Ok(_run.Sh("sync"));
        Checkpoint();
        TreeSnapshot atCheckpoint = Snap();
        Assert.Contains("user.color", atCheckpoint.ToString());
        Ok(_run.Sh("rm -rf d"));

        CliResult r = Ok(_run.Cli.Run("rollback", "1"));
        atCheckpoint.AssertEqual(Snap());
        Assert.True(TreeSnapshot.Blocks(_run.Path("d/sparse")) < 64, "blocks: " + TreeSnapshot.Blocks(_run.Path("d/sparse")));

        // d and its four files recreated; each file is one action (its content, owner, mode, xattr and
        // times go with the creation), the directory two (made, then its times set after its children).
        Assert.Contains("5 recreated", r.Stdout);
        Assert.Contains(" 7 actions journaled", r.Stdout);

        // The rollback of the rollback removes them again, and a second rollback to 1 brings them back.
        Ok(_run.Cli.Run("rollback", "2"));
        Assert.False(Directory.Exists(_run.Path("d")));
        Ok(_run.Cli.Run("rollback", "1"));
        atCheckpoint.AssertEqual(Snap());
    }

    [Fact]
    public void Unknown_checkpoint_is_one_clear_line()
    {
        Ok(_run.Sh("echo a > f"));
        CliResult r = _run.Cli.Run("rollback", "nope");
        Assert.Equal(1, r.ExitCode);
        Assert.Single(r.StderrLines);
        Assert.Contains("no checkpoint 'nope'", r.Stderr);
    }
}
