namespace Scoord.Interceptors.Decoding;

/// <summary>
/// What the run protects and what it journals, prepared once (paths as bytes, identities as (dev, ino)):
/// the journal itself is refused to the app by path and by identity; --only/--exclude scope the journal.
/// </summary>
internal sealed class DecodePolicy
{
    /// <summary>Canonical absolute path of the journal directory (no trailing slash).</summary>
    public required byte[] JournalPath { get; init; }

    /// <summary>(dev, ino) of the journal directory, its subdirectories, and journal files with another name outside.</summary>
    public required HashSet<(ulong Dev, ulong Ino)> ProtectedDirs { get; init; }

    /// <summary>(dev, ino) of every ancestor of the journal directory: these may not be renamed or removed.</summary>
    public required HashSet<(ulong Dev, ulong Ino)> JournalAncestors { get; init; }

    public required byte[][] Only { get; init; }
    public required byte[][] Exclude { get; init; }

    /// <summary>
    /// (dev, ino) of objects left out of the journal whatever names them: the regular files open on fds 0-2
    /// of `scoord run` (and of programs that join the group) when they start, which belong to the caller.
    /// </summary>
    public HashSet<(ulong Dev, ulong Ino)> Untracked { get; init; } = new();

    public bool IsProtected(ulong dev, ulong ino) => ProtectedDirs.Contains((dev, ino));

    public bool IsUntracked(ulong dev, ulong ino) => Untracked.Count > 0 && Untracked.Contains((dev, ino));

    public bool IsJournalAncestor(ulong dev, ulong ino) => JournalAncestors.Contains((dev, ino));

    public bool IsInJournal(ReadOnlySpan<byte> absolutePath) => PathNormalizer.IsUnder(absolutePath, JournalPath);

    /// <summary>--only / --exclude: excluded objects pass unjournaled.</summary>
    public bool InScope(ReadOnlySpan<byte> abs)
    {
        if (Only.Length > 0)
        {
            bool inside = false;
            for (int i = 0; i < Only.Length; i++)
            {
                if (PathNormalizer.IsUnder(abs, Only[i]))
                {
                    inside = true;
                    break;
                }
            }

            if (!inside)
            {
                return false;
            }
        }

        for (int i = 0; i < Exclude.Length; i++)
        {
            if (PathNormalizer.IsUnder(abs, Exclude[i]))
            {
                return false;
            }
        }

        return true;
    }
}
