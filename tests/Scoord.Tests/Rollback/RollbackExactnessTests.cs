using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Scoord.Tests.Reliability;
using Scoord.Tests.Support;
using Scoord.Tests.Tracing;
using Listing = Scoord.Tests.Properties.TreeSnapshot;
using Proc = Scoord.Tests.Properties.Proc;

namespace Scoord.Tests.Rollback;

/// <summary>
/// Issue 10: every reproduction of the issue, as real programs under `scoord run`, with its exact
/// expected outcome. The listing compared is the property tests' (<see cref="Listing"/>: type, mode,
/// owner, size, sha256, extents, symlink target, xattrs, hard-link groups, mtimes).
/// </summary>
public sealed partial class RollbackExactnessTests : IDisposable
{
    /// <summary>What program 1 of the issue makes: files in directories, a hard link, a symlink, a sparse file.</summary>
    private const string FirstProgram = """
import os
os.makedirs('w/d1'); os.makedirs('w/d2/sub')
for i in range(4):
    with open('w/d1/f%d' % i, 'w') as f: f.write('content %d\n' % i * (i + 1) * 40)
with open('w/d2/g', 'w') as f: f.write('g' * 9000)
with open('w/d2/sub/s', 'w') as f: f.write('sub\n')
os.link('w/d1/f3', 'w/d2/f3-link')
os.symlink('f0', 'w/d1/l0')
fd = os.open('w/sparse', os.O_CREAT | os.O_WRONLY, 0o644); os.pwrite(fd, b'end', 20000); os.close(fd)
""";

    private readonly TracedRun _t = new();

    public void Dispose() => _t.Dispose();

    // ---- the false conflicts: programs that only journaled processes ran ------------------------

    [Fact]
    public void UnlinkWhileOpen_ThenPwriteThroughTheFd_RollsBackExactly_WithoutConflicts() => AssertExactAfter("""
fd = os.open('w/d1/f0', os.O_RDWR)
os.unlink('w/d1/f0')
os.pwrite(fd, b'written through the fd of a deleted file', 5)
fd2 = os.open('w/d1/f1', os.O_RDWR)
os.pwrite(fd2, b'before', 0)
os.unlink('w/d1/f1')
os.pwrite(fd2, b'after the unlink', 100)
os.close(fd); os.close(fd2)
""");

    [Fact]
    public void ANewFileAtANameJustFreed_PossiblyReusingTheInode_RollsBackExactly_WithoutConflicts() => AssertExactAfter("""
reused = 0
for i in range(20):
    old = os.lstat('w/d1/f2').st_ino
    os.unlink('w/d1/f2')
    with open('w/d1/f2', 'w') as f: f.write('generation %d\n' % i)
    reused += os.lstat('w/d1/f2').st_ino == old
print('inode reused %d of 20 times' % reused)
""");

    [Fact]
    public void ASymlinkWhereARegularFileWas_AndBackToAFile_RollsBackExactly_WithoutConflicts() => AssertExactAfter("""
os.unlink('w/d1/f0'); os.symlink('f1', 'w/d1/f0')
os.unlink('w/d1/l0'); open('w/d1/l0', 'w').write('a file where the symlink was\n')
os.unlink('w/d1/f1'); os.symlink('nowhere', 'w/d1/f1'); os.unlink('w/d1/f1'); os.mkdir('w/d1/f1')
""");

    [Fact]
    public void RenamesAcrossDirectories_IncludingOverAnExistingFile_RollBackExactly_WithoutConflicts() => AssertExactAfter("""
os.rename('w/d1/f0', 'w/d2/f0')
os.rename('w/d1/f1', 'w/d2/g')
os.rename('w/d2/sub/s', 'w/d1/s')
with open('w/d2/f0', 'a') as f: f.write('appended after the move\n')
os.rename('w/d2/f0', 'w/d1/f1')
""");

    [Fact]
    public void Truncations_DownUpAndThroughAnFd_RollBackExactly_WithoutConflicts() => AssertExactAfter("""
os.truncate('w/d1/f2', 7)
os.truncate('w/d2/g', 50000)
fd = os.open('w/d1/f3', os.O_RDWR); os.ftruncate(fd, 0); os.write(fd, b'short'); os.close(fd)
with open('w/d1/f1', 'w') as f: f.write('O_TRUNC rewrite\n')
os.truncate('w/sparse', 3)
""");

    [Fact]
    public void HardLinks_MadeWrittenAndPartlyRemoved_RollBackExactly_WithoutConflicts() => AssertExactAfter("""
os.link('w/d1/f0', 'w/d2/f0-link')
with open('w/d2/f0-link', 'a') as f: f.write('through the second name\n')
os.unlink('w/d1/f0')
os.unlink('w/d1/f3')
with open('w/d2/f3-link', 'a') as f: f.write('the other name of f3\n')
""");

    [Fact]
    public void DirectoryRenames_WithAnOpenFileInside_RollBackExactly_WithoutConflicts() => AssertExactAfter("""
fd = os.open('w/d1/f2', os.O_RDWR)
os.rename('w/d1', 'w/d3')
os.pwrite(fd, b'written after its directory moved', 0)
os.rename('w/d2/sub', 'w/d3/sub')
os.mkdir('w/d1'); os.rename('w/d1', 'w/d2/empty')
os.close(fd)
""");

    /// <summary>The sequence of the issue's first report, in one program after the checkpoint.</summary>
    [Fact]
    public void TheIssuesFirstReproduction_EveryKindOfChangeInOneProgram_RollsBackExactly_WithoutConflicts() => AssertExactAfter("""
for i in range(3):
    with open('w/d1/t%d' % i, 'w') as f: f.write('temp %d\n' % i)
fd = os.open('w/d1/f2', os.O_RDWR)
os.unlink('w/d1/f2')
os.pwrite(fd, b'deleted but written', 10)
with open('w/d1/f2', 'w') as f: f.write('a new f2\n')
os.unlink('w/d1/f0'); os.symlink('f2', 'w/d1/f0')
os.rename('w/d1/t0', 'w/d2/t0'); os.rename('w/d1/t1', 'w/d2/sub/t1')
os.truncate('w/d1/f3', 10)
os.link('w/d2/t0', 'w/d1/t0-link')
os.rename('w/d2', 'w/d4')
os.close(fd)
for i in range(3):
    if os.path.exists('w/d1/t%d' % i): os.unlink('w/d1/t%d' % i)
""");

    /// <summary>
    /// The smallest program found (by delta debugging a random one) that gives today's false conflicts
    /// "w/d1/f1 is not the object the journal created" and "w/d1 exists, so w/d4 cannot be renamed back
    /// to it": a directory moved aside twice into a new directory of its old name, a hard link made in
    /// between, and a child process renaming a new file over one of the two linked names.
    /// </summary>
    [Fact]
    public void ADirectoryMovedIntoANewDirectoryOfItsName_WithAHardLinkAndAChildRenamingOverIt_RollsBackExactly_WithoutConflicts() => AssertExactAfter("""
import subprocess
def move_aside():
    os.rename('w/d1', 'w/d4'); os.mkdir('w/d1'); os.rename('w/d4/f0', 'w/d1/f0'); os.rename('w/d4', 'w/d1/old')
move_aside()
os.link('w/d1/f0', 'w/d1/f1')
move_aside()
subprocess.run(['sh', '-c', 'echo sh > w/d2/a; mv w/d2/a w/d1/f0'], check=True)
""");

    /// <summary>
    /// Found by the kill -9 property: `rename("l", "l/x")` with l a symlink to a directory moves the symlink
    /// into its own target; the new name's state after the call is read by the path the kernel reached
    /// (d2/x), not by the text "l/x", which names nothing once l has moved. The same for an exchange of
    /// "l/x" with l (found by the long mode with the fast path): afterwards "l/x" goes through another object.
    /// </summary>
    [Fact]
    public void ASymlinkRenamedIntoTheDirectoryItPointsTo_ThroughItself_RollsBackExactly_WithoutConflicts() => AssertExactAfter("""
import ctypes
os.symlink('d2', 'w/l')
os.rename('w/l', 'w/l/moved')
os.symlink('sub', 'w/d2/l2')
os.rename('w/d2/l2', 'w/d2/l2/moved2')
os.symlink('d1', 'w/l3')
os.rename('w/d1/f0', 'w/d1/e0')
exchange = ctypes.CDLL(None, use_errno=True).renameat2
if exchange(-100, b'w/l3/e0', -100, b'w/l3', 2) != 0:  # RENAME_EXCHANGE: d1/e0 <-> l3
    raise OSError(ctypes.get_errno(), 'renameat2')
""");

    /// <summary>
    /// Found by the ext4 inode-reuse property: a dangling symlink whose text goes through a symlinked
    /// directory ("w/f2" -> "l/f0" with l -> d2) names, for the journal, the file the kernel reaches
    /// (d2/f0), not the text "l/f0": otherwise the name l is recorded as holding d2's inode.
    /// </summary>
    [Fact]
    public void ADanglingSymlinkThroughASymlinkedDirectory_OpenedAndCreated_RollsBackExactly_WithoutConflicts() => AssertExactAfter("""
os.symlink('d2', 'w/l')
os.symlink('l/f0', 'w/f2')
try:
    os.open('w/f2', os.O_WRONLY)
except FileNotFoundError:
    pass
with open('w/f2', 'w') as f: f.write('created through two symlinks\n')
os.unlink('w/l'); os.symlink('d1', 'w/l')
with open('w/f2', 'a') as f: f.write('appended through the new l\n')
os.rename('w/l', 'w/l2')
""");

    /// <summary>
    /// Found by the transparency property with the fast path on: below a directory whose own name is past
    /// PATH_MAX, a path through a symlink ("b/a", b -> the next level) is journaled under the directory the
    /// kernel reaches (the interposer hands such calls to the tracer, which walks long names), not under
    /// the text; before, the name b was recorded as holding the next level's inode, and rollback left the
    /// whole deep tree behind as conflicts.
    /// </summary>
    [Fact]
    public void ASymlinkedDirectoryBelowAPathPastPathMax_UsedOnTheWay_RollsBackExactly_WithoutConflicts() => AssertExactAfter("""
N = 'n' * 255
top = os.open('.', os.O_RDONLY)
os.chdir('w/d2')
for _ in range(17):
    os.mkdir(N); os.chdir(N)
os.fchdir(top); os.chdir('w/d2')
for _ in range(15):
    os.chdir(N)
os.symlink(N, 'b')
try:
    os.rename('b/a', 'b')
except FileNotFoundError:
    pass
with open('b/f', 'w') as f: f.write('through the symlink, past PATH_MAX\n')
os.fchdir(top)
""", pastPathMax: true);

    // ---- a crash of the coordinator -------------------------------------------------------------

    [Fact]
    public void RollbackAfterKillDashNineOfScoordDuringALongRun_IsExact_WithoutConflicts()
    {
        SetUpAndCheckpoint("before", out Listing atCheckpoint);
        // Three shell loops and the python process change the tree at once: creates, appends, moves,
        // removals, symlinks, truncations, unlink while open, hard links, a directory moved away and back.
        const string longProgram = """
import os, random, subprocess
LOOP = '''
i=0
while true; do
  i=$((i+1))
  echo "$i" > $1/s$((i % 5)); echo x >> w/d1/f$2
  mv $1/s$((i % 5)) $1/t$((i % 3)) 2>/dev/null
  rm -f $1/t$((i % 4)); ln -s f0 $1/l$((i % 3)) 2>/dev/null; rm -f $1/l$((i % 2))
  truncate -s $((i % 100)) w/d1/f$2
done'''
for k in range(3):
    subprocess.Popen(['sh', '-c', LOOP, 'sh', 'w/d%d' % (1 + k % 2), str(k)])
rnd = random.Random(7)
names = ['w/d1/f0', 'w/d1/f1', 'w/d1/f2', 'w/d1/f3', 'w/d2/g', 'w/d2/a', 'w/d2/sub/s', 'w/d2/sub/b', 'w/c']
fds = []
for i in range(1000000):
    p = rnd.choice(names); q = rnd.choice(names); k = rnd.randrange(12)
    try:
        if k == 0:
            with open(p, 'w') as f: f.write('v%d\n' % i * rnd.randrange(1, 50))
        elif k == 1:
            with open(p, 'a') as f: f.write('+%d' % i)
        elif k == 2:
            fd = os.open(p, os.O_RDWR); os.unlink(p); os.pwrite(fd, b'del', rnd.randrange(100)); fds.append(fd)
        elif k == 3:
            os.rename(p, q)
        elif k == 4:
            os.unlink(p); os.symlink('f0', p)
        elif k == 5:
            os.link(p, q)
        elif k == 6:
            os.truncate(p, rnd.randrange(300))
        elif k == 7:
            if os.path.lexists(p): os.unlink(p)
            with open(p, 'w') as f: f.write('new %d\n' % i)
        elif k == 8:
            os.rename('w/d2', 'w/d3'); os.rename('w/d3', 'w/d2')
        elif k == 9 and fds:
            os.pwrite(fds[-1], b'late', 7)
        elif k == 10 and len(fds) > 3:
            os.close(fds.pop(0))
        elif k == 11:
            os.unlink(p)
    except OSError:
        pass
    if i == 300:
        print('running', flush=True)
""";
        using Process scoord = ScoordProcess.Start(_t.Journal, _t.Tree.Path, ["run", "--", Listing.Python, "-c", longProgram]);
        using IDisposable killAtEnd = FaultSupport.KillAtEnd(scoord);
        using var running = new ManualResetEventSlim();
        scoord.OutputDataReceived += (_, e) =>
        {
            if (e.Data == "running")
            {
                running.Set();
            }
        };
        scoord.ErrorDataReceived += (_, _) => { };
        scoord.BeginOutputReadLine();
        scoord.BeginErrorReadLine();
        Assert.True(running.Wait(TimeSpan.FromSeconds(60)), "the long program never reported that it was running");
        Thread.Sleep(1500);
        scoord.Kill(); // SIGKILL to scoord only; its tracees die with it
        Assert.True(scoord.WaitForExit(30_000), "scoord did not die of SIGKILL");
        Assert.Equal(137, scoord.ExitCode);
        FaultSupport.AssertAppGone(_t);

        CliResult rollback = _t.Cli.Run("rollback", "before");
        AssertExitZeroWithoutConflicts(rollback, "rollback before");
        AssertListing(atCheckpoint, "checkpoint before", "after the rollback");
    }

    // ---- --force ------------------------------------------------------------------------------

    /// <summary>(a) of the issue: b holds "orig" again (not the outside text cut to 5 bytes), and the outside state stays reachable.</summary>
    [Fact]
    public void Force_OverAnAppendAndARecreatedFile_GivesTheCheckpointExactly_AndTheOutsideStateStaysReachable()
    {
        Outside("echo orig > a; echo orig > b");
        Checkpoint("c");
        Listing atCheckpoint = Listing.Take(_t.Tree.Path);
        Ok(_t.Sh("echo run >> a; rm b"));
        Outside("echo outside >> a; echo outside > b");
        Listing outsideState = Listing.Take(_t.Tree.Path);

        CliResult force = _t.Cli.Run("rollback", "--force", "c");
        Assert.True(force.ExitCode == 0, force.ToString());
        Assert.Equal("orig\n", File.ReadAllText(_t.Path("a")));
        Assert.Equal("orig\n", File.ReadAllText(_t.Path("b")));
        AssertListing(atCheckpoint, "checkpoint c", "after rollback --force");

        string before = BeforeRollbackCheckpoint(force);
        AssertExitZeroWithoutConflicts(_t.Cli.Run("rollback", before), "rollback " + before);
        Assert.Equal("orig\nrun\noutside\n", File.ReadAllText(_t.Path("a")));
        Assert.Equal("outside\n", File.ReadAllText(_t.Path("b")));
        AssertListing(outsideState, "before rollback --force", $"after rollback {before}");
    }

    /// <summary>(b) of the issue: a small file's first bytes overwritten outside come back (its whole content was kept at its first touch).</summary>
    [Fact]
    public void Force_OverBytesOverwrittenOutsideInASmallFile_GivesTheCheckpointExactly()
    {
        Outside("echo orig > a");
        Checkpoint("c");
        Listing atCheckpoint = Listing.Take(_t.Tree.Path);
        Ok(_t.Sh("echo run >> a"));
        Outside("printf XXXX | dd of=a conv=notrunc status=none");
        Assert.Equal("XXXX\nrun\n", File.ReadAllText(_t.Path("a")));

        CliResult force = _t.Cli.Run("rollback", "--force", "c");
        Assert.True(force.ExitCode == 0, force.ToString());
        Assert.Equal("orig\n", File.ReadAllText(_t.Path("a")));
        AssertListing(atCheckpoint, "checkpoint c", "after rollback --force");
    }

    /// <summary>
    /// A 1 MiB file (over the 64 KiB kept whole) appended to under scoord, its first 4 KiB overwritten
    /// outside: those bytes at the checkpoint are nowhere, so --force must not claim success.
    /// </summary>
    [Fact]
    public void Force_OverBytesOverwrittenOutsideInALargeFile_FailsAndNamesTheFile()
    {
        Outside("head -c 1048576 /dev/urandom > big");
        Checkpoint("c");
        Ok(_t.Sh("echo more >> big"));
        Outside("head -c 4096 /dev/zero | dd of=big conv=notrunc status=none");

        CliResult force = _t.Cli.Run("rollback", "--force", "c");
        Assert.True(force.ExitCode != 0, "rollback --force cannot restore bytes it never saw and must not exit 0: " + force);
        string[] naming = [.. force.StderrLines.Where(l => l.Contains(_t.Path("big"), StringComparison.Ordinal))];
        Assert.True(naming.Length == 1, $"exactly one stderr line must name {_t.Path("big")}: {force}");
        Assert.Contains("outside the journal", naming[0], StringComparison.Ordinal);
    }

    /// <summary>
    /// Found by a new-user trial with git: `git status` outside scoord rewrote .git/index between two journaled
    /// runs, `rollback --force c0` settled that, and every later `rollback c0` still printed the old conflict
    /// ("holds inode X, not Y ... seen at seq N") and exited 3 while saying "nothing to do". A conflict a
    /// clean rollback overruled is settled; one made after it is reported as before.
    /// </summary>
    [Fact]
    public void AnOutsideReplacementSettledByForce_IsNotReportedAgain_ButANewOneIs()
    {
        Outside("echo one > f; echo idx > index");
        Checkpoint("c0");
        Listing atCheckpoint = Listing.Take(_t.Tree.Path);
        Ok(_t.Sh("echo two >> f; echo idx2 > index.lock; mv index.lock index"));
        AssertExitZeroWithoutConflicts(_t.Cli.Run("rollback", "c0"), "rollback c0 #1");
        Outside("echo outside > index.new; mv index.new index"); // a new inode at the name, as git status makes
        Ok(_t.Sh("echo three >> f; echo idx3 > index.lock; mv index.lock index"));

        CliResult plain = _t.Cli.Run("rollback", "c0");
        Assert.True(plain.ExitCode == 3 && plain.StderrLines.Any(l => l.Contains(_t.Path("index"), StringComparison.Ordinal) && l.Contains("(left alone)", StringComparison.Ordinal)),
            "the outside replacement must be reported and left alone without --force: " + plain);
        CliResult force = _t.Cli.Run("rollback", "--force", "c0");
        Assert.True(force.ExitCode == 0, force.ToString());
        AssertListing(atCheckpoint, "checkpoint c0", "after rollback --force");

        for (int i = 1; i <= 2; i++)
        {
            CliResult again = _t.Cli.Run("rollback", "c0");
            AssertExitZeroWithoutConflicts(again, $"rollback c0 after --force #{i}");
            AssertListing(atCheckpoint, "checkpoint c0", $"after rollback c0 #{i} after --force");
        }

        Ok(_t.Sh("echo four >> f"));
        Outside("echo later > index.new; mv index.new index");
        Ok(_t.Sh("echo five >> index"));
        CliResult later = _t.Cli.Run("rollback", "c0");
        Assert.True(later.ExitCode == 3 && later.StderrLines.Any(l => l.Contains(_t.Path("index"), StringComparison.Ordinal) && l.Contains("(left alone)", StringComparison.Ordinal)),
            "an outside replacement after the forced rollback must still be reported: " + later);
        Assert.Equal("later\nfive\n", File.ReadAllText(_t.Path("index")));
    }

    // ---- repeats, diff, dry run ---------------------------------------------------------------

    [Fact]
    public void SixRollbacksToTheSameCheckpoint_TheSecondToSixthJournalNothing()
    {
        Outside("mkdir d; for i in 1 2 3 4 5 6; do echo file $i > d/f$i; done");
        Checkpoint("c0");
        Listing atCheckpoint = Listing.Take(_t.Tree.Path);
        Ok(_t.Sh("echo more >> d/f1; rm d/f2; mv d/f3 d/f3.moved; echo new > d/f7; chmod 600 d/f4; ln d/f5 d/f5.link; ln -s f6 d/l6"));

        var counts = new List<int>();
        for (int i = 1; i <= 6; i++)
        {
            AssertExitZeroWithoutConflicts(_t.Cli.Run("rollback", "c0"), $"rollback c0 #{i}");
            AssertListing(atCheckpoint, "checkpoint c0", $"after rollback #{i}");
            counts.Add(_t.Log().Count);
        }

        Assert.True(counts.Skip(1).All(c => c == counts[0]),
            $"rollbacks 2-6 to a state the tree is already in must journal nothing; `log --json` line counts after each: {string.Join(", ", counts)}");
    }

    [Fact]
    public void AfterAnExactRollback_DiffPrintsNothing_AndDryRunSaysZeroChanges()
    {
        Ok(_t.Run("sqlite3", "t.db", "create table t(a, b); insert into t values (1, 'one'), (2, 'two');"));
        Outside("echo keep > k; mkdir d; echo x > d/x");
        Checkpoint("c0");
        Listing atCheckpoint = Listing.Take(_t.Tree.Path);
        Ok(_t.Run("sqlite3", "t.db", "insert into t select a + 10, b || '!' from t; update t set b = 'changed' where a = 1; create index i on t(b);"));
        Ok(_t.Sh("echo new > n; rm k; mv d e; sed -i s/x/y/ e/x"));
        AssertExitZeroWithoutConflicts(_t.Cli.Run("rollback", "c0"), "rollback c0");
        AssertListing(atCheckpoint, "checkpoint c0", "after the rollback");

        CliResult diff = _t.Cli.Run("diff", "c0");
        Assert.True(diff.ExitCode == 0 && diff.Stdout.Length == 0, "`diff c0` after an exact rollback must print nothing: " + diff);
        CliResult dryRun = _t.Cli.Run("rollback", "--dry-run", "c0");
        Assert.True(dryRun.ExitCode == 0, dryRun.ToString());
        Assert.Contains(dryRun.StdoutLines, l => l.StartsWith("dry run: 0 change(s)", StringComparison.Ordinal));
    }

    [Fact]
    public void AFileReplacedThroughRename_BySedDashI_IsOneMLineInDiff()
    {
        Outside("printf 'hello\\nworld\\n' > f");
        Checkpoint("c");
        Ok(_t.Run("sed", "-i", "s/hello/HELLO/", "f"));

        CliResult diff = _t.Cli.Run("diff", "c");
        Assert.True(diff.ExitCode == 0, diff.ToString());
        string path = _t.Path("f");
        Assert.True(diff.StdoutLines.Length == 1 && (diff.StdoutLines[0] == "M " + path || diff.StdoutLines[0].StartsWith("M " + path + " (", StringComparison.Ordinal)),
            $"`sed -i f` replaces f through a rename; `diff` must show one line `M {path}`, as git status would, not an A/D pair:\n{diff.Stdout}");
    }

    [Fact]
    public void RemovingOneNameOfAHardLinkedFile_ShowsInDiff_AndRollbackRestoresTheLink()
    {
        Outside("echo data > a; ln a b");
        Checkpoint("c");
        Listing atCheckpoint = Listing.Take(_t.Tree.Path);
        Ok(_t.Run("rm", "a"));

        CliResult diff = _t.Cli.Run("diff", "c");
        Assert.True(diff.ExitCode == 0 && diff.StdoutLines.Contains("D " + _t.Path("a")),
            $"`diff c` must show the removed name: a line `D {_t.Path("a")}`:\n{diff}");

        AssertExitZeroWithoutConflicts(_t.Cli.Run("rollback", "c"), "rollback c");
        Assert.Equal("data\n", File.ReadAllText(_t.Path("a")));
        Assert.True(Inode(_t.Path("a")) == Inode(_t.Path("b")), "a must come back as a hard link of b (one inode), not as a copy");
        AssertListing(atCheckpoint, "checkpoint c", "after the rollback");
    }

    // ---- the caller's own stdout at launch --------------------------------------------------------

    [Fact]
    public void TheCallersFileOnStdoutAtLaunch_IsNotJournaled_AndRollbackLeavesItAlone()
    {
        Outside("echo old > build.log");
        Checkpoint("c");
        Outside($"{ScoordCommand()} run -- sh -c 'echo hi' >> build.log");
        Assert.Equal("old\nhi\n", File.ReadAllText(_t.Path("build.log")));
        Outside("echo later >> build.log"); // the caller goes on writing its log

        string log = _t.Path("build.log");
        Assert.DoesNotContain(_t.Log(), l => l.Path == log || l.Path2 == log);
        CliResult rollback = _t.Cli.Run("rollback", "c");
        AssertExitZeroWithoutConflicts(rollback, "rollback c");
        Assert.Equal("old\nhi\nlater\n", File.ReadAllText(log));
    }

    [Fact]
    public void AFileTheProgramItselfOpensOntoStdout_IsJournaled_AndRolledBack()
    {
        Checkpoint("c");
        Ok(_t.Sh("echo hi > f"));
        Assert.Contains(_t.Log(), l => l.Path == _t.Path("f"));

        AssertExitZeroWithoutConflicts(_t.Cli.Run("rollback", "c"), "rollback c");
        Assert.False(File.Exists(_t.Path("f")), "f was made by the program after the checkpoint; rollback removes it");
    }

    // ---- log of a write to an unlinked file -----------------------------------------------------

    [Fact]
    public void AWriteToAnUnlinkedFile_IsLoggedWithThePathItHad_AndADeletedFlag()
    {
        Ok(_t.Run(Listing.Python, "-c", "import os\nfd = os.open('f', os.O_CREAT | os.O_WRONLY, 0o644)\nos.unlink('f')\nos.write(fd, b'into the void')\nos.close(fd)"));
        string path = _t.Path("f");

        CliResult json = _t.Cli.Run("log", "--json");
        Assert.True(json.ExitCode == 0, json.ToString());
        var lines = json.StdoutLines.Select(l => JsonDocument.Parse(l)).ToList();
        try
        {
            foreach (JsonDocument line in lines)
            {
                Assert.True(line.RootElement.TryGetProperty("deleted", out JsonElement d) && d.ValueKind is JsonValueKind.True or JsonValueKind.False,
                    "every `log --json` line must carry \"deleted\": true/false: " + line.RootElement.GetRawText());
            }

            JsonElement write = lines.Select(l => l.RootElement).Single(e => e.GetProperty("op").GetString() == "write");
            Assert.Equal(path, write.GetProperty("path").GetString());
            Assert.True(write.GetProperty("deleted").GetBoolean(), "the write went to an unlinked file: " + write.GetRawText());
            Assert.All(lines.Select(l => l.RootElement).Where(e => e.GetProperty("op").GetString() != "write"),
                e => Assert.False(e.GetProperty("deleted").GetBoolean(), "only the write was to an unlinked file: " + e.GetRawText()));
        }
        finally
        {
            lines.ForEach(l => l.Dispose());
        }

        // The table: the write's row names the path it had (its path is PATH, not "PATH (deleted)": `--path
        // PATH` matches the whole path, so it finds the row) and says that the file was deleted.
        CliResult table = _t.Cli.Run("log", "--op", "write", "--path", path);
        Assert.True(table.ExitCode == 0, table.ToString());
        string[] rows = [.. table.StdoutLines.Where(l => WriteRow().IsMatch(l))];
        Assert.True(rows.Length == 1, $"`scoord log --op write --path {path}` must show the write to the unlinked file under the path it had:\n{table}");
        Assert.Contains(path, rows[0], StringComparison.Ordinal);
        Assert.Contains("deleted", rows[0], StringComparison.Ordinal);
    }

    // ---- helpers --------------------------------------------------------------------------------

    /// <summary>
    /// Program 1 (<see cref="FirstProgram"/>) under scoord, checkpoint t, <paramref name="secondProgram"/>
    /// under scoord (python3, `import os` done), then `rollback t`: exit 0, no "conflict" anywhere in its
    /// output, and the tree's listing equals the one taken at the checkpoint.
    /// </summary>
    /// <param name="pastPathMax">The program leaves names past PATH_MAX, which the listing cannot take: only the checkpoint's and the rolled-back tree are listed.</param>
    private void AssertExactAfter(string secondProgram, bool pastPathMax = false)
    {
        SetUpAndCheckpoint("t", out Listing atCheckpoint);
        CliResult second = _t.Run(Listing.Python, "-c", "import os\n" + secondProgram);
        Assert.True(second.ExitCode == 0, "program 2 failed: " + second);
        if (!pastPathMax)
        {
            Assert.NotEqual(atCheckpoint.ToString(), Listing.Take(_t.Tree.Path).ToString());
        }

        AssertExitZeroWithoutConflicts(_t.Cli.Run("rollback", "t"), "rollback t");
        AssertListing(atCheckpoint, "checkpoint t", "after the rollback");
    }

    private void SetUpAndCheckpoint(string name, out Listing atCheckpoint)
    {
        CliResult first = _t.Run(Listing.Python, "-c", FirstProgram);
        Assert.True(first.ExitCode == 0, "program 1 failed: " + first);
        Checkpoint(name);
        atCheckpoint = Listing.Take(_t.Tree.Path);
    }

    private static void AssertExitZeroWithoutConflicts(CliResult r, string what)
    {
        string[] conflicts = [.. r.StdoutLines.Concat(r.StderrLines).Where(l => l.Contains("conflict", StringComparison.OrdinalIgnoreCase))];
        Assert.True(conflicts.Length == 0, $"`scoord {what}` reported conflicts nobody caused (only journaled programs touched the tree):\n{string.Join('\n', conflicts.Take(10))}\n{r}");
        Assert.True(r.ExitCode == 0, $"`scoord {what}` must exit 0: {r}");
    }

    private void AssertListing(Listing expected, string expectedLabel, string actualLabel)
    {
        string diff = Listing.Diff(expected, Listing.Take(_t.Tree.Path), expectedLabel, actualLabel);
        Assert.True(diff.Length == 0, $"the tree {actualLabel} differs from {expectedLabel}:\n{diff}");
    }

    private void Checkpoint(string name)
    {
        CliResult r = _t.Cli.Run("checkpoint", "--name", name);
        Assert.True(r.ExitCode == 0, r.ToString());
    }

    private static CliResult Ok(CliResult r)
    {
        Assert.True(r.ExitCode == 0, r.ToString());
        return r;
    }

    /// <summary>A shell command in the tree, outside scoord (SCOORD_JOURNAL set, for the commands that run scoord).</summary>
    private void Outside(string script)
    {
        Properties.ProcResult r = Proc.Run("sh", ["-c", script], _t.Tree.Path, new Dictionary<string, string> { ["SCOORD_JOURNAL"] = _t.Journal });
        Assert.True(r.ExitCode == 0, $"sh -c '{script}' (outside scoord) failed: {r}");
    }

    /// <summary>The id in "the state before this rollback is checkpoint ID (before-rollback-ID)".</summary>
    private static string BeforeRollbackCheckpoint(CliResult force)
    {
        Match m = force.StdoutLines.Select(l => BeforeRollbackLine().Match(l)).FirstOrDefault(x => x.Success) ?? Match.Empty;
        Assert.True(m.Success, "a rollback that changes the tree must print \"the state before this rollback is checkpoint ID (before-rollback-ID)\": " + force);
        Assert.Equal(m.Groups[1].Value, m.Groups[2].Value);
        return m.Groups[1].Value;
    }

    private static string ScoordCommand()
    {
        string bin = ScoordCli.BinaryPath;
        return bin.EndsWith(".dll", StringComparison.Ordinal) ? $"dotnet '{bin}'" : $"'{bin}'";
    }

    private static long Inode(string path)
    {
        Properties.ProcResult r = Proc.Run(Listing.Python, ["-c", "import os, sys; print(os.lstat(sys.argv[1]).st_ino)", path]);
        Assert.True(r.ExitCode == 0, r.ToString());
        return long.Parse(r.Stdout.Trim(), CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"^the state before this rollback is checkpoint (\d+) \(before-rollback-(\d+)\)$")]
    private static partial Regex BeforeRollbackLine();

    [GeneratedRegex(@"^\s*\d+\s.*\swrite\s")]
    private static partial Regex WriteRow();
}
