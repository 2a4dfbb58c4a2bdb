using System.Globalization;
using Scoord.Interceptors;
using Scoord.Journal;
using Scoord.Journal.Undo;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Rollback;

/// <summary>An object changed by someone outside the journal since the journal last saw it.</summary>
internal sealed record Conflict(string Path, ObjKey Recorded, FileId Found, string Message);

/// <summary>
/// Compares every path the journal recorded a post-state for (its last one, with the paths moved
/// along by later renames) with what is on disk now: existence, identity, type and mode, owner, and
/// for non-directories size, mtime and ctime (a directory's times and size change with its entries,
/// which are checked on their own). Pending operations make their objects unknowable: not checked.
/// </summary>
internal static class ConflictCheck
{
    public static List<Conflict> Find(JournalHistory h)
    {
        var expect = new Dictionary<string, (UndoItem Item, ObjKey Key)?>(StringComparer.Ordinal);
        var unknownIds = new HashSet<ObjKey>();
        var ctimeUnknown = new HashSet<ObjKey>();
        foreach (HistoryOp op in h.Ops)
        {
            if (op.Class == OpClass.Rename && op.Entry.Status == EntryStatus.Completed)
            {
                var moved = new Dictionary<string, (UndoItem Item, ObjKey Key)?>(StringComparer.Ordinal);
                foreach ((string k, (UndoItem Item, ObjKey Key)? v) in expect)
                {
                    if (JournalHistory.Under(k, op.Path, out string rest))
                    {
                        moved[op.Path2 + rest] = v;
                    }
                    else if (JournalHistory.Under(k, op.Path2, out rest))
                    {
                        if (op.IsExchange)
                        {
                            moved[op.Path + rest] = v;
                        }
                    }
                    else
                    {
                        moved.TryAdd(k, v);
                    }
                }

                expect.Clear();
                foreach ((string k, (UndoItem Item, ObjKey Key)? v) in moved)
                {
                    expect[k] = v;
                }
            }

            for (int n = 0; n < op.Items.Count; n++)
            {
                UndoItem i = op.Items[n];
                if (i.Kind == UndoKind.PostState && i.Role is UndoRole.Object or UndoRole.Second && i.Path.Length > 0)
                {
                    expect[PathText.ToText(i.Path)] = (i, op.ItemKeys[n]);
                }
                else if (i.Kind == UndoKind.ObjectState && i.Role == UndoRole.Target && i.Existed && i.Nlink > 1)
                {
                    ctimeUnknown.Add(op.ItemKeys[n]);
                }
            }

            if (op.Pending)
            {
                expect[op.Path] = null;
                if (op.Class is OpClass.Rename or OpClass.Link)
                {
                    expect[op.Path2] = null;
                }

                if (op.EntryKey.IsKnown)
                {
                    unknownIds.Add(op.EntryKey);
                }
            }
        }

        var conflicts = new List<Conflict>();
        foreach ((string path, (UndoItem Item, ObjKey Key)? expected) in expect)
        {
            if (expected is not { } e || path.Length == 0 || path[0] != '/')
            {
                continue;
            }

            UndoItem post = e.Item;
            ObjKey recorded = e.Key;
            if (post.Existed && unknownIds.Contains(recorded))
            {
                continue;
            }

            using SafePath? sp = SafePath.Resolve(path, out ResolveStatus status);
            bool exists = false;
            Interop.Stat st = default;
            if (sp is not null)
            {
                exists = sp.TryLstat(out st);
            }
            else if (status == ResolveStatus.NotDirectory)
            {
                conflicts.Add(new Conflict(path, recorded, default, $"{path} changed outside the journal (a directory of its path was replaced by a non-directory)"));
                continue;
            }

            var found = new FileId(st.st_dev, st.st_ino);
            if (!post.Existed)
            {
                if (exists)
                {
                    conflicts.Add(new Conflict(path, default, found, $"{path} was created outside the journal"));
                }

                continue;
            }

            if (!exists)
            {
                conflicts.Add(new Conflict(path, recorded, default, $"{path} was removed outside the journal"));
                continue;
            }

            if (found != recorded.Disk)
            {
                conflicts.Add(new Conflict(path, recorded, found, $"{path} was replaced outside the journal (inode {recorded.Ino} -> {found.Ino})"));
                continue;
            }

            UndoItem last = h.LastPost.GetValueOrDefault(recorded) ?? post;
            string? diff = Compare(last, st, ctimeUnknown.Contains(recorded));
            if (diff is not null)
            {
                conflicts.Add(new Conflict(path, recorded, found, $"{path} changed outside the journal ({diff})"));
            }
        }

        return conflicts;
    }

    private static string? Compare(UndoItem e, in Interop.Stat st, bool ctimeUnknown)
    {
        CultureInfo c = CultureInfo.InvariantCulture;
        var d = new List<string>();
        bool dir = (e.Mode & S_IFMT) == S_IFDIR;
        if (e.Mode != st.st_mode)
        {
            d.Add(string.Create(c, $"mode {Convert.ToString(e.Mode & 0xFFFF, 8)} -> {Convert.ToString(st.st_mode & 0xFFFF, 8)}"));
        }

        if (e.Uid != st.st_uid || e.Gid != st.st_gid)
        {
            d.Add(string.Create(c, $"owner {e.Uid}:{e.Gid} -> {st.st_uid}:{st.st_gid}"));
        }

        if (!dir)
        {
            if (e.Size != st.st_size)
            {
                d.Add(string.Create(c, $"size {e.Size} -> {st.st_size}"));
            }

            long mtime = (st.st_mtime_sec * 1_000_000_000) + st.st_mtime_nsec;
            long ctime = (st.st_ctime_sec * 1_000_000_000) + st.st_ctime_nsec;
            if (e.MtimeNs != mtime)
            {
                d.Add("mtime");
            }
            else if (!ctimeUnknown && e.CtimeNs != ctime)
            {
                d.Add("ctime");
            }
        }

        return d.Count == 0 ? null : string.Join(", ", d);
    }
}
