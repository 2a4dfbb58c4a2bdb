using Scoord.Tests.Properties;
using Scoord.Tests.Support;

namespace Scoord.Tests.Scenarios;

/// <summary>
/// Issue 3, item 6, scenario tests: real programs (tar, git, sqlite3, sed, cp) change a tree under
/// `scoord run` after a checkpoint; `scoord rollback` must give back the checkpoint's state.
/// </summary>
public sealed class RealProgramScenarios
{
    [Fact]
    public void TarExtractOverExistingFiles_RollbackGivesBackThePreExtractTree()
    {
        using var s = new ScenarioRun();
        // An older version of a project, partly made outside scoord (so it is not in the journal at all)...
        s.T.Tree.WriteFile("docs/readme.txt", "readme v1\n");
        s.T.Tree.WriteFile("docs/only-here.txt", "not in any archive\n");
        File.SetUnixFileMode(s.T.Tree.WriteFile("bin/tool", "#!/bin/sh\necho v1\n"), (UnixFileMode)0x1ED);
        File.CreateSymbolicLink(Path.Combine(s.Tree, "current"), "docs/readme.txt");
        // ...and partly extracted under scoord from an old archive.
        string old = s.Outside.CreateDirectory("old");
        File.WriteAllText(Path.Combine(old, "main.c"), "int main(void) { return 1; }\n");
        File.WriteAllText(Path.Combine(old, "big.dat"), string.Concat(Enumerable.Repeat("0123456789abcdef", 4096)));
        ScenarioRun.OutsideIn(s.Outside.Path, "touch", "-d", "@1000000000", "old/main.c", "old/big.dat");
        ScenarioRun.OutsideIn(s.Outside.Path, "tar", "-cf", "old.tar", "-C", "old", ".");
        s.ShOk("mkdir -p src && tar -xf " + s.Outside.Combine("old.tar") + " -C src");

        // The newer archive overwrites some files, shrinks one, adds files, a directory and a symlink.
        string v2 = s.Outside.CreateDirectory("new");
        Directory.CreateDirectory(Path.Combine(v2, "docs"));
        Directory.CreateDirectory(Path.Combine(v2, "src", "lib"));
        Directory.CreateDirectory(Path.Combine(v2, "bin"));
        File.WriteAllText(Path.Combine(v2, "docs", "readme.txt"), "readme v2, quite a bit longer than before\n");
        File.WriteAllText(Path.Combine(v2, "src", "main.c"), "int main(void) { return 0; }\n/* v2 */\n");
        File.WriteAllText(Path.Combine(v2, "src", "big.dat"), "shrunk\n");
        File.WriteAllText(Path.Combine(v2, "src", "lib", "util.c"), "void util(void) {}\n");
        File.WriteAllText(Path.Combine(v2, "bin", "tool"), "#!/bin/sh\necho v2\n");
        File.SetUnixFileMode(Path.Combine(v2, "bin", "tool"), (UnixFileMode)0x1C0);
        File.CreateSymbolicLink(Path.Combine(v2, "current"), "src/main.c");
        ScenarioRun.OutsideIn(s.Outside.Path, "touch", "-h", "-d", "@1200000000", "new/docs/readme.txt", "new/src/main.c", "new/current");
        ScenarioRun.OutsideIn(s.Outside.Path, "tar", "-cf", "new.tar", "-C", "new", ".");

        string id = s.Checkpoint();
        TreeSnapshot before = s.Snapshot();
        s.RunOk("tar", "-xf", s.Outside.Combine("new.tar"));
        s.AssertTreeChanged(before, "tar -x");

        CliResult rollback = s.Rollback(id);
        s.AssertTreeEquals(before, "tar -x over existing files", rollback);
    }

    [Fact]
    public void GitCommitsAndGc_AfterRollback_FsckPassesAndHeadIsTheCheckpoints()
    {
        using var s = new ScenarioRun();
        s.ShOk("git -c init.defaultBranch=main init -q . && seq 1 200 > a.txt && echo hello > b.txt && git add . && git -c gc.auto=0 commit -qm one && " +
            "echo more >> a.txt && git -c gc.auto=0 commit -qam two");
        string id = s.Checkpoint();
        string head = s.Unjournaled("git", "rev-parse", "HEAD").Trim();

        s.ShOk("for i in 1 2 3 4 5 6; do seq $i 300 > a.txt; echo $i > c$i.txt; git add .; git -c gc.auto=0 commit -qm \"c$i\"; done; " +
            "git tag v1; git gc -q --prune=now");
        Assert.NotEqual(head, s.Unjournaled("git", "rev-parse", "HEAD").Trim());
        Assert.True(Directory.GetFiles(Path.Combine(s.Tree, ".git", "objects", "pack"), "*.pack").Length > 0, "git gc packed the objects");

        s.Rollback(id);
        ProcResult fsck = Proc.Run("git", ["fsck", "--full", "--strict", "--no-dangling"], s.Tree, ScenarioRun.GitEnvironment);
        Assert.True(fsck.ExitCode == 0, "git fsck after rollback: " + fsck);
        ProcResult after = Proc.Run("git", ["rev-parse", "HEAD"], s.Tree, ScenarioRun.GitEnvironment);
        Assert.True(after.ExitCode == 0 && after.Stdout.Trim() == head, $"HEAD after rollback must be the checkpoint's {head}: {after}");
    }

    [Theory]
    [InlineData("delete")]
    [InlineData("wal")]
    public void SqliteInsertsAndVacuum_AfterRollback_IntegrityOkAndRowCountIsTheCheckpoints(string journalMode)
    {
        using var s = new ScenarioRun();
        s.RunOk("sqlite3", "db.sqlite",
            $"PRAGMA journal_mode={journalMode}; CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB); CREATE INDEX t_v ON t(v); " +
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000) INSERT INTO t(v) SELECT randomblob(300) FROM c;");
        string id = s.Checkpoint();
        Assert.Equal("2000", Count(s));

        s.RunOk("sqlite3", "db.sqlite",
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000) INSERT INTO t(v) SELECT randomblob(500) FROM c; " +
            "DELETE FROM t WHERE id % 3 = 0; UPDATE t SET v = randomblob(100) WHERE id % 5 = 0; VACUUM;");
        Assert.NotEqual("2000", Count(s));

        s.Rollback(id);
        ProcResult check = Proc.Run("sqlite3", ["db.sqlite", "PRAGMA integrity_check;"], s.Tree);
        Assert.True(check.ExitCode == 0 && check.Stdout.Trim() == "ok", "PRAGMA integrity_check after rollback: " + check);
        Assert.Equal("2000", Count(s));
    }

    private static string Count(ScenarioRun s) => s.Unjournaled("sqlite3", "db.sqlite", "SELECT count(*) FROM t;").Trim();

    [Fact]
    public void SedInPlaceOnSeveralFiles_RollbackGivesBackTheCheckpointTree()
    {
        using var s = new ScenarioRun();
        s.T.Tree.WriteFile("conf/app.conf", "host = old.example\nport = 80\n");
        File.SetUnixFileMode(s.T.Tree.WriteFile("conf/secret.conf", "password = old\n"), (UnixFileMode)0x180);
        s.ShOk("mkdir -p src && for i in 1 2 3; do printf 'old %s\\nline\\n' $i > src/f$i.txt; done && ln src/f1.txt src/f1-hardlink.txt && " +
            "touch -d @1300000000 src/f2.txt && seq 1 5000 | sed 's/^/old /' > src/long.txt");
        string id = s.Checkpoint();
        TreeSnapshot before = s.Snapshot();

        s.RunOk("sed", "-i", "-e", "s/old/new/g", "conf/app.conf", "conf/secret.conf", "src/f1.txt", "src/f2.txt", "src/f3.txt", "src/long.txt");
        s.AssertTreeChanged(before, "sed -i");

        CliResult rollback = s.Rollback(id);
        s.AssertTreeEquals(before, "sed -i on several files", rollback);
    }

    [Fact]
    public void CpArchiveOverATreeWithOlderFiles_RollbackGivesBackTheCheckpointTree()
    {
        using var s = new ScenarioRun();
        s.ShOk(
            // dst: the older tree
            "mkdir -p dst/sub dst/empty && echo 'old a' > dst/a && seq 1 3000 > dst/sub/b && echo 'dst only' > dst/only && " +
            "chmod 600 dst/a && touch -d @1000000000 dst/a dst/sub/b dst/sub && ln -s a dst/link && " +
            // src: the newer tree, with a hard-link pair, a symlink, modes, times
            "mkdir -p src/sub src/new && echo 'new a' > src/a && seq 5 9 > src/sub/b && echo n > src/new/n && ln src/new/n src/new/n2 && " +
            "ln -s sub/b src/link && chmod 755 src/a && chmod 700 src/new && touch -h -d @1400000000 src/a src/link src/sub/b");
        string id = s.Checkpoint();
        TreeSnapshot before = s.Snapshot();

        s.RunOk("cp", "-a", "src/.", "dst/");
        s.AssertTreeChanged(before, "cp -a");

        CliResult rollback = s.Rollback(id);
        s.AssertTreeEquals(before, "cp -a src/. dst/ over older files", rollback);
    }

    /// <summary>
    /// The "done when": `scoord run -- sh -c '...'` creates files, `scoord checkpoint`, a second run
    /// edits, deletes and renames, then `scoord rollback` gives back a tree whose checksum listing
    /// (find + sha256sum, sorted) equals the one taken at the checkpoint.
    /// </summary>
    [Fact]
    public void DoneWhen_CreateCheckpointEditDeleteRename_RollbackGivesBackTheChecksumListing()
    {
        using var s = new ScenarioRun();
        s.ShOk("mkdir -p proj/src proj/doc proj/empty && printf 'one\\n' > proj/a.txt && printf 'two\\n' > proj/src/b.c && " +
            "seq 1 20000 > proj/doc/big.txt && echo keep > proj/keep && head -c 100000 /dev/zero > proj/zeros.bin");
        string id = s.Checkpoint();
        Assert.Equal("1", id);
        string listing = ChecksumListing(s);

        s.ShOk("echo edit >> proj/a.txt && sed -i s/two/TWO/ proj/src/b.c && rm proj/doc/big.txt && mv proj/keep proj/renamed && " +
            "mv proj/src proj/source && rmdir proj/empty && echo new > proj/new.txt && printf X | dd of=proj/zeros.bin bs=1 seek=50000 conv=notrunc 2>/dev/null");
        Assert.NotEqual(listing, ChecksumListing(s));

        CliResult rollback = s.Rollback(id);
        string after = ChecksumListing(s);
        Assert.True(after == listing,
            $"checksum listing after `scoord rollback {id}` differs from the checkpoint's:\n--- at checkpoint ---\n{listing}\n--- after rollback ---\n{after}\n--- rollback ---\n{rollback}");
    }

    /// <summary>Every path with its type, and every file's sha256, sorted (C collation).</summary>
    private static string ChecksumListing(ScenarioRun s) =>
        Proc.Sh("export LC_ALL=C; find . -printf '%y %p\\n' | sort; find . -type f -print0 | sort -z | xargs -0 -r sha256sum", s.Tree);
}
