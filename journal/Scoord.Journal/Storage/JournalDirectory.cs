using System.Globalization;

namespace Scoord.Journal;

/// <summary>Checks and creates the journal directory and its SCOORD marker (before RocksDB is touched).</summary>
internal static class JournalDirectory
{
    public enum State
    {
        /// <summary>Directory missing or empty.</summary>
        Missing,
        /// <summary>Marker present but no database yet (a creation that died before the first open).</summary>
        MarkerOnly,
        /// <summary>Marker and database present.</summary>
        Journal,
    }

    /// <summary>Classifies <paramref name="dir"/>; throws for a foreign directory, a newer format or a damaged layout.</summary>
    public static State Inspect(string dir)
    {
        if (!Directory.Exists(dir))
        {
            if (File.Exists(dir))
            {
                ThrowHelper.ThrowNotAJournal(dir);
            }

            return State.Missing;
        }

        string marker = Path.Combine(dir, JournalLayout.MarkerFileName);
        if (!File.Exists(marker))
        {
            if (Directory.EnumerateFileSystemEntries(dir).Any())
            {
                ThrowHelper.ThrowNotAJournal(dir);
            }

            return State.Missing;
        }

        CheckMarker(dir, marker);
        string db = Path.Combine(dir, JournalLayout.DbDirectoryName);
        if (!Directory.Exists(db) || !Directory.EnumerateFileSystemEntries(db).Any())
        {
            return State.MarkerOnly;
        }

        if (!File.Exists(Path.Combine(db, "CURRENT")))
        {
            // Opening with create_if_missing here would start a new database over the old files.
            ThrowHelper.ThrowDamaged(dir, "db/CURRENT is missing (the database is damaged)");
        }

        return State.Journal;
    }

    /// <summary>
    /// rwx for the owner only. The journal holds pre-images of files the traced programs changed, read
    /// by scoord (often root) on their behalf: nobody else may read it, or a program that dropped its
    /// privileges could read through the journal what it could not read itself.
    /// </summary>
    public const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Makes an existing journal directory (created by an older scoord, or by hand) owner-only.</summary>
    public static void RestrictAccess(string dir)
    {
        try
        {
            if ((File.GetUnixFileMode(dir) & ~OwnerOnly) != 0)
            {
                File.SetUnixFileMode(dir, OwnerOnly);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            ThrowHelper.ThrowIo(dir, "restricting the journal directory to its owner", e);
        }
    }

    /// <summary>
    /// Writes DIR/.gitignore ("*") when it is missing: a journal inside a git work tree (the default
    /// ./.scoord) must not be added by the programs scoord runs (`git add -A`). A journal made by an older
    /// scoord gets it at its next writable open. Best effort: a journal without it still works.
    /// </summary>
    public static void KeepOutOfVersionControl(string dir)
    {
        string path = Path.Combine(dir, JournalLayout.GitIgnoreFileName);
        try
        {
            if (!File.Exists(path) && !Directory.Exists(path))
            {
                using var fs = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None);
                fs.Write(System.Text.Encoding.UTF8.GetBytes(JournalLayout.GitIgnoreText));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Another coordinator wrote it meanwhile, or the directory is read-only: nothing to keep.
        }
    }

    /// <summary>Creates the directory and writes the marker (written whole, then fsynced, then renamed into place).</summary>
    public static void Create(string dir)
    {
        try
        {
            Directory.CreateDirectory(dir, OwnerOnly);
            string marker = Path.Combine(dir, JournalLayout.MarkerFileName);
            string temp = marker + ".tmp";
            using (var fs = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                fs.Write("scoord journal\nformat 1\n"u8);
                fs.Flush(flushToDisk: true);
            }

            File.Move(temp, marker, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            ThrowHelper.ThrowIo(dir, "creating the journal", e);
        }
    }

    private static void CheckMarker(string dir, string marker)
    {
        string text;
        try
        {
            using var fs = new FileStream(marker, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            byte[] buf = new byte[4096];
            int n = fs.ReadAtLeast(buf, buf.Length, throwOnEndOfStream: false);
            text = System.Text.Encoding.UTF8.GetString(buf, 0, n);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            ThrowHelper.ThrowIo(dir, "reading " + JournalLayout.MarkerFileName, e);
            return;
        }

        string[] lines = text.Split('\n');
        if (lines.Length < 2 || lines[0] != JournalLayout.MarkerFirstLine)
        {
            ThrowHelper.ThrowNotAJournal(dir);
        }

        foreach (string line in lines)
        {
            if (line.StartsWith("format ", StringComparison.Ordinal))
            {
                if (!long.TryParse(line.AsSpan(7), NumberStyles.None, CultureInfo.InvariantCulture, out long version) || version < 1)
                {
                    ThrowHelper.ThrowNotAJournal(dir);
                }

                if (version > JournalLayout.FormatVersion)
                {
                    ThrowHelper.ThrowNewerFormat(dir, version);
                }

                return;
            }
        }

        ThrowHelper.ThrowNotAJournal(dir);
    }
}
