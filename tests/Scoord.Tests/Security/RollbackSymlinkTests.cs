using System.Security.Cryptography;
using Scoord.Tests.Support;
using Scoord.Tests.Tracing;

namespace Scoord.Tests.Security;

/// <summary>A rollback never follows a symlink that replaced one of the tree's directories after the run.</summary>
public sealed class RollbackSymlinkTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ADirectoryReplacedByASymlinkToOutside_LeavesEverythingOutsideUntouched(bool force)
    {
        using var t = new TracedRun();
        using var outsideTree = new TempTree("scoord-outside-");
        Assert.Equal(0, t.Sh("mkdir -p dir/sub && echo original > dir/sub/file && echo keep > dir/sub/keep && chmod 600 dir/sub/file").ExitCode);
        CliResult ck = t.Cli.Run("checkpoint", "--name", "before");
        Assert.True(ck.ExitCode == 0, ck.ToString());
        Assert.Equal(0, t.Sh("echo changed >> dir/sub/file && rm dir/sub/keep && echo new > dir/sub/created && chmod 644 dir/sub/file && mkdir dir/sub/newdir").ExitCode);

        // Outside scoord: dir/sub becomes a symlink to a directory outside the tree that holds files of
        // the same names (a canary where the rollback would write, one where it would delete).
        string outside = outsideTree.CreateDirectory("target");
        outsideTree.WriteFile("target/file", "canary\n");
        outsideTree.WriteFile("target/created", "outside, must stay\n");
        File.SetUnixFileMode(outsideTree.Combine("target/file"), (UnixFileMode)0x1A4); // 0644
        File.SetLastWriteTimeUtc(outsideTree.Combine("target/file"), new DateTime(2001, 2, 3, 4, 5, 6, DateTimeKind.Utc));
        Directory.Delete(t.Path("dir/sub"), recursive: true);
        File.CreateSymbolicLink(t.Path("dir/sub"), outside);
        string before = Listing(outsideTree.Path);

        CliResult rollback = force ? t.Cli.Run("rollback", "before", "--force") : t.Cli.Run("rollback", "before");

        // Nothing outside the tree is touched, whatever the mode.
        Assert.Contains(rollback.StderrLines, l => l.Contains(t.Path("dir/sub/file"), StringComparison.Ordinal));
        Assert.Equal(before, Listing(outsideTree.Path));
        Assert.Equal("canary\n", File.ReadAllText(outsideTree.Combine("target/file")));
        Assert.False(File.Exists(outsideTree.Combine("target/keep")));
        Assert.False(Directory.Exists(outsideTree.Combine("target/newdir")));
        if (force && File.ResolveLinkTarget(t.Path("dir/sub"), false) is null)
        {
            // --force replaced the planted symlink (never following it) by the checkpoint's directory.
            Assert.True(rollback.ExitCode == 0, rollback.ToString());
            Assert.Equal("original\n", File.ReadAllText(t.Path("dir/sub/file")));
            Assert.Equal("keep\n", File.ReadAllText(t.Path("dir/sub/keep")));
            Assert.False(File.Exists(t.Path("dir/sub/created")));
            Assert.False(Directory.Exists(t.Path("dir/sub/newdir")));
            return;
        }

        // What could not be restored is reported, the exit status is not 0, and the symlink stays.
        Assert.True(rollback.ExitCode != 0, rollback.ToString());
        Assert.True(File.ResolveLinkTarget(t.Path("dir/sub"), false) is not null, "dir/sub is still the planted symlink");
        if (force)
        {
            Assert.Contains(rollback.StderrLines, l => l.Contains("not followed", StringComparison.Ordinal) || l.Contains("Too many levels of symbolic links", StringComparison.Ordinal));
        }
        else
        {
            Assert.Contains(rollback.StderrLines, l => l.Contains("conflict", StringComparison.Ordinal) && l.Contains("left alone", StringComparison.Ordinal));
        }
    }

    /// <summary>Every entry under root (symlinks not followed): type, mode, size, mtime, sha256; and the directories' mtimes.</summary>
    internal static string Listing(string root)
    {
        var lines = new List<string>();
        foreach (string p in Directory.EnumerateFileSystemEntries(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }).Append(root).Order(StringComparer.Ordinal))
        {
            var info = new FileInfo(p);
            string kind = info.LinkTarget is not null ? "l " + info.LinkTarget : Directory.Exists(p) ? "d" : "f";
            string hash = kind == "f" ? Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(p))) : "";
            long size = kind == "f" ? info.Length : 0;
            lines.Add($"{Path.GetRelativePath(root, p)} {kind} {info.UnixFileMode} {size} {info.LastWriteTimeUtc.Ticks} {hash}");
        }

        return string.Join('\n', lines);
    }
}
