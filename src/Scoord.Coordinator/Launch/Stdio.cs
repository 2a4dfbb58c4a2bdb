using Scoord.Interceptors;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Launch;

/// <summary>
/// The standard fds a program starts with. Regular files there belong to whoever started `scoord run`
/// (`scoord run -- make >> build.log`): by default they are left out of the journal (by identity, so
/// every route to them is), and their writes need no stop (docs/cli.md, --journal-stdio).
/// </summary>
internal static unsafe class Stdio
{
    /// <summary>Bit i set for each of <paramref name="fds"/>[i] (i &lt; 3) that is not a regular file.</summary>
    public static int NonRegularMask(int[] fds)
    {
        int mask = 0;
        for (int i = 0; i < 3 && i < fds.Length; i++)
        {
            if (!IsRegular(fds[i], out _))
            {
                mask |= 1 << i;
            }
        }

        return mask;
    }

    /// <summary>Adds the identity of every regular file among the first three of <paramref name="fds"/>.</summary>
    public static void AddRegularFiles(int[] fds, HashSet<(ulong Dev, ulong Ino)> set)
    {
        for (int i = 0; i < 3 && i < fds.Length; i++)
        {
            if (IsRegular(fds[i], out Interop.Stat st))
            {
                set.Add((st.st_dev, st.st_ino));
            }
        }
    }

    /// <summary>Whether one of fds 0-2 is a regular file that is not in <paramref name="set"/> yet.</summary>
    public static bool HasNewRegularFiles(int[] fds, HashSet<(ulong Dev, ulong Ino)> set)
    {
        for (int i = 0; i < 3 && i < fds.Length; i++)
        {
            if (IsRegular(fds[i], out Interop.Stat st) && !set.Contains((st.st_dev, st.st_ino)))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsRegular(int fd, out Interop.Stat st)
    {
        Interop.Stat s;
        bool regular = fstat(fd, &s) == 0 && (s.st_mode & S_IFMT) == S_IFREG;
        st = s;
        return regular;
    }
}
