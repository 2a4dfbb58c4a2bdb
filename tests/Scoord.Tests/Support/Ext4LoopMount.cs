using System.Globalization;
using Scoord.Tests.Properties;

namespace Scoord.Tests.Support;

/// <summary>
/// A small ext4 file system in a loop file, mounted for one test case and unmounted at dispose (also
/// when the case failed). Few inodes (mkfs.ext4 -N), so that the kernel hands freed inode numbers out
/// again at once: ext4 takes the lowest free inode of the group, where tmpfs never reuses a number.
/// Needs root (mount) and mkfs.ext4 (e2fsprogs).
/// </summary>
public sealed class Ext4LoopMount : IDisposable
{
    private readonly string _image;

    public Ext4LoopMount(string directory, int megabytes = 16, int inodes = 64)
    {
        _image = Path.Combine(directory, "ext4.img");
        MountPoint = Path.Combine(directory, "mnt");
        Directory.CreateDirectory(MountPoint);
        using (FileStream f = File.Create(_image))
        {
            f.SetLength(megabytes * 1024L * 1024L);
        }

        Check(Proc.Run("mkfs.ext4", ["-q", "-F", "-b", "4096", "-N", inodes.ToString(CultureInfo.InvariantCulture), "-E", "lazy_itable_init=0,lazy_journal_init=0", _image]), "mkfs.ext4");
        Check(Proc.Run("mount", ["-o", "loop,user_xattr", _image, MountPoint]), "mount -o loop");
    }

    /// <summary>Where the file system is mounted (it holds lost+found; use a subdirectory).</summary>
    public string MountPoint { get; }

    /// <summary>Whether this machine can do it: root, mkfs.ext4 on PATH (a failure names the missing piece).</summary>
    public static string? Unavailable()
    {
        if (Environment.UserName != "root" && Proc.Run("id", ["-u"]).Stdout.Trim() != "0")
        {
            return "mounting a loop file system needs root";
        }

        ProcResult mkfs = Proc.Run("sh", ["-c", "command -v mkfs.ext4"]);
        return mkfs.ExitCode == 0 ? null : "mkfs.ext4 (e2fsprogs) is not installed";
    }

    /// <summary>
    /// Unmounts (the traced programs are gone by then; a process that still holds the mount, such as a
    /// dying tracee, gets a few retries, then a lazy unmount) and deletes the image.
    /// </summary>
    public void Dispose()
    {
        for (int attempt = 0; attempt < 20 && IsMounted(); attempt++)
        {
            if (Proc.Run("umount", [MountPoint]).ExitCode == 0)
            {
                break;
            }

            Thread.Sleep(100);
        }

        if (IsMounted())
        {
            Proc.Run("umount", ["-l", MountPoint]);
        }

        try
        {
            File.Delete(_image);
        }
        catch (IOException)
        {
        }
    }

    private bool IsMounted() =>
        File.ReadAllLines("/proc/self/mountinfo").Any(l => l.Split(' ')[4] == MountPoint);

    private static void Check(ProcResult r, string what)
    {
        if (r.ExitCode != 0)
        {
            throw new InvalidOperationException($"{what} failed: {r}");
        }
    }
}
