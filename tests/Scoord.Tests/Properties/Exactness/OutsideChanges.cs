using System.Globalization;
using System.Text.Json.Nodes;

namespace Scoord.Tests.Properties.Exactness;

/// <summary>
/// Turns generated <see cref="OutsideChange"/>s into concrete changes, made only where `rollback --force
/// CKPT` can be asked to restore the checkpoint's state exactly: on objects the journal itself touched
/// after the checkpoint (the rollback keeps a whole copy of a file of ≤ 64 KiB at its first change after
/// a checkpoint, and the metadata of every object it touches). An object untouched since the checkpoint
/// is the rollback's business only through its parent's renames, and a change to it outside the journal
/// is not something any rollback can see, so it is never changed here.
/// <para>
/// "Touched" is read off the two listings (at the checkpoint and now, both by inode number): an object is
/// touched when its inode is new since the checkpoint, or when any compared field (type, mode, owner,
/// size, content, extents, mtime, xattrs, link count, a directory's entries) differs from the
/// checkpoint's listing of that inode. Only journaled programs ran in between, so such a difference was
/// journaled. Changes of content (overwrite, append, truncate) and deletions of files are made only to
/// files whose content the journal changed (size, sha256 or extents differ, or a new file), so that the
/// rollback holds their checkpoint content; metadata changes to any touched object; a file is created
/// only at a name that held something at the checkpoint, in a touched directory that is still the same
/// inode. (A touch that changed nothing visible, such as a rename, is missed: that only makes the choice
/// more careful.)
/// </para>
/// </summary>
internal static class OutsideChanges
{
    /// <summary>The driver's `outside` input, and one line per change (or why it was skipped).</summary>
    public static (JsonArray Changes, List<string> Descriptions) Resolve(
        IReadOnlyList<OutsideChange> changes, TreeSnapshot atCheckpoint, Dictionary<string, long> inodesAtCheckpoint, TreeSnapshot now, Dictionary<string, long> inodesNow)
    {
        var pathByInodeAtCheckpoint = new Dictionary<long, string>();
        foreach ((string path, long ino) in inodesAtCheckpoint)
        {
            pathByInodeAtCheckpoint.TryAdd(ino, path);
        }

        // Touched: a new object, or one whose fields (any of them, or only its content) differ from the
        // checkpoint's listing of the same inode.
        bool Differs(string p, Func<string, bool> field)
        {
            if (!inodesNow.TryGetValue(p, out long ino) || !now.Entries.TryGetValue(p, out SortedDictionary<string, string>? fields))
            {
                return false;
            }

            if (!pathByInodeAtCheckpoint.TryGetValue(ino, out string? then) || !atCheckpoint.Entries.TryGetValue(then, out SortedDictionary<string, string>? old))
            {
                return true;
            }

            return fields.Keys.Union(old.Keys).Any(k => field(k) && fields.GetValueOrDefault(k) != old.GetValueOrDefault(k));
        }

        bool Touched(string p) => Differs(p, k => k != "hardlinks");
        bool ContentTouched(string p) => Differs(p, k => k is "size" or "sha256" or "data_extents" or "type");

        string TypeNow(string p) => now.Entries.TryGetValue(p, out SortedDictionary<string, string>? f) ? f["type"].Trim('"') : "";

        static string Parent(string p) => p.Contains('/', StringComparison.Ordinal) ? p[..p.LastIndexOf('/')] : ".";

        List<string> paths = [.. now.Entries.Keys];
        List<string> files = [.. paths.Where(p => TypeNow(p) == "file" && ContentTouched(p))];
        List<string> filesAndDirs = [.. paths.Where(p => TypeNow(p) is "file" or "dir" && Touched(p))];
        List<string> anyTouched = [.. paths.Where(Touched)];
        List<string> deletable = [.. paths.Where(p => (TypeNow(p) == "file" ? ContentTouched(p) : TypeNow(p) == "symlink" && Touched(p)) && Touched(Parent(p)))];
        List<string> creatable = [.. atCheckpoint.Entries.Keys.Where(p =>
            p != "." && !now.Entries.ContainsKey(p) && TypeNow(Parent(p)) == "dir" && Touched(Parent(p))
            && inodesNow.GetValueOrDefault(Parent(p), -1) == inodesAtCheckpoint.GetValueOrDefault(Parent(p), -2))];

        var json = new JsonArray();
        var descriptions = new List<string>();
        foreach (OutsideChange c in changes)
        {
            List<string> pool = c.Kind switch
            {
                OutsideKind.Overwrite or OutsideKind.Append or OutsideKind.Truncate => files,
                OutsideKind.Create => creatable,
                OutsideKind.Delete => deletable,
                OutsideKind.Utime => anyTouched,
                _ => filesAndDirs,
            };
            if (pool.Count == 0)
            {
                descriptions.Add($"{c}: skipped (no path where this change is fair)");
                continue;
            }

            string p = pool[c.Pick % pool.Count];
            string name = FsStep.XattrNames[c.Seed % FsStep.XattrNames.Length];
            int mode = TypeNow(p) == "dir" ? FsStep.DirModes[c.Seed % FsStep.DirModes.Length] : FsStep.FileModes[c.Seed % FsStep.FileModes.Length];
            long ns = 1_600_000_000_000_000_000L + (c.Off * 1_000_000_007L) + c.Seed;
            JsonArray change = c.Kind switch
            {
                OutsideKind.Overwrite => ["overwrite", p, c.Off, c.Len, c.Seed],
                OutsideKind.Append => ["append", p, c.Len, c.Seed],
                OutsideKind.Truncate => ["truncate", p, c.Off],
                OutsideKind.Create => ["create", p, c.Len, c.Seed],
                OutsideKind.Delete => ["delete", p],
                OutsideKind.Chmod => ["chmod", p, mode],
                OutsideKind.Utime => ["utime", p, ns],
                OutsideKind.SetXattr => ["setxattr", p, name, c.Seed],
                OutsideKind.RemoveXattr => ["removexattr", p, name],
                _ => throw new InvalidOperationException(c.Kind.ToString()),
            };
            json.Add(change);
            descriptions.Add(change.ToJsonString() + (c.Kind == OutsideKind.Chmod ? " (mode 0o" + Convert.ToString(mode, 8) + ")" : "")
                + string.Create(CultureInfo.InvariantCulture, $"  <- {c}"));
        }

        return (json, descriptions);
    }
}
