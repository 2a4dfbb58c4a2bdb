using System.Globalization;
using Scoord.Journal;
using Scoord.Journal.Model;
using Scoord.Journal.Undo;
using Scoord.Interceptors.Syscalls;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Rollback;

/// <summary>What kind of change `scoord diff` reports for a path.</summary>
public enum ChangeKind
{
    Created,
    Modified,
    Deleted,
    Renamed,
    Metadata,
}

/// <summary>
/// One line of `scoord diff`: a path created (A), modified (M, with byte counts), deleted (D), renamed
/// (R old -> new) or changed in metadata only (m), since a checkpoint.
/// </summary>
public sealed record PathChange(ChangeKind Kind, string Path, string? Path2, long? Bytes, string Detail, bool IsDirectory)
{
    public char Code => Kind switch
    {
        ChangeKind.Created => 'A',
        ChangeKind.Modified => 'M',
        ChangeKind.Deleted => 'D',
        ChangeKind.Renamed => 'R',
        _ => 'm',
    };

    public string Word => Kind switch
    {
        ChangeKind.Created => "created",
        ChangeKind.Modified => "modified",
        ChangeKind.Deleted => "deleted",
        ChangeKind.Renamed => "renamed",
        _ => "metadata",
    };

    /// <summary>"M /t/f (+3 bytes)", "R /t/d -> /t/e".</summary>
    public string ToText()
    {
        string slash = IsDirectory ? "/" : string.Empty;
        string text = Kind == ChangeKind.Renamed ? $"{Code} {Path}{slash} -> {Path2}{slash}" : $"{Code} {Path}{slash}";
        return Detail.Length > 0 ? $"{text} ({Detail})" : text;
    }

    /// <summary>What a rollback does about it (dry-run): "restore PATH (content, mode)", "remove PATH", "recreate PATH".</summary>
    public string ToRollbackText() => Kind switch
    {
        ChangeKind.Created => "remove " + Path,
        ChangeKind.Deleted => "recreate " + Path,
        ChangeKind.Renamed => $"rename {Path2} -> {Path}",
        _ => $"restore {(Kind == ChangeKind.Modified ? Path2 ?? Path : Path)} ({RestoreWhat})",
    };

    internal string RestoreWhat { get; init; } = string.Empty;
}

/// <summary>Computes the changes since a checkpoint from the journal alone (no file is read).</summary>
internal static class ChangeSummary
{
    private static readonly OpCode[] s_writes = [OpCode.Write, OpCode.Pwrite64, OpCode.Writev, OpCode.Pwritev, OpCode.Pwritev2, OpCode.CopyFileRange, OpCode.Sendfile, OpCode.Splice];
    private static readonly OpCode[] s_xattrs = [OpCode.Setxattr, OpCode.Lsetxattr, OpCode.Fsetxattr, OpCode.Removexattr, OpCode.Lremovexattr, OpCode.Fremovexattr, OpCode.Setxattrat, OpCode.Removexattrat];

    public static List<PathChange> Build(JournalHistory h)
    {
        var pathOf = new Dictionary<ObjKey, string>();
        var removed = new HashSet<ObjKey>();
        var renamed = new HashSet<ObjKey>();
        var written = new Dictionary<ObjKey, long>();
        var xattrs = new HashSet<ObjKey>();
        var links = new Dictionary<string, ObjKey>(StringComparer.Ordinal);
        foreach (HistoryOp op in h.Ops)
        {
            JournalEntry e = op.Entry;
            bool done = e.Status == EntryStatus.Completed;
            ObjKey entryId = op.EntryKey;
            if (op.Class == OpClass.Rename && done)
            {
                renamed.Add(op.MovedKey);
                foreach (ObjKey id in pathOf.Keys.ToList())
                {
                    pathOf[id] = Move(pathOf[id], op.Path, op.Path2, op.IsExchange);
                }

                foreach (string l in links.Keys.ToList())
                {
                    string moved = Move(l, op.Path, op.Path2, op.IsExchange);
                    if (moved != l)
                    {
                        links[moved] = links[l];
                        links.Remove(l);
                    }
                }
            }

            if (done && op.Class is OpClass.Remove or OpClass.Rename && op.Find(UndoKind.ObjectState, UndoRole.Target) is { Existed: true } t)
            {
                if (t.Nlink <= 1 || (t.Mode & S_IFMT) == S_IFDIR)
                {
                    removed.Add(op.Key(t));
                }

                links.Remove(op.Class == OpClass.Remove ? op.Path : op.Path2);
            }

            for (int n = 0; n < op.Items.Count; n++)
            {
                UndoItem i = op.Items[n];
                if (i.Kind == UndoKind.PostState && i.Existed && i.Role is UndoRole.Object or UndoRole.Second)
                {
                    ObjKey id = op.ItemKeys[n];
                    if (i.Path.Length > 0 && !(op.Class == OpClass.Link && i.Role == UndoRole.Second))
                    {
                        pathOf[id] = PathText.ToText(i.Path);
                    }

                    removed.Remove(id);
                }
            }

            if (op.Class == OpClass.Link && done)
            {
                UndoItem? second = op.Find(UndoKind.PostState, UndoRole.Second);
                links[op.Path2] = second is not null ? op.Key(second) : entryId;
            }

            if (done && Array.IndexOf(s_writes, e.Op) >= 0 && e.Result is > 0 && entryId.IsKnown)
            {
                written[entryId] = written.GetValueOrDefault(entryId) + e.Result.Value;
            }

            if (Array.IndexOf(s_xattrs, e.Op) >= 0 && entryId.IsKnown)
            {
                xattrs.Add(entryId);
            }
        }

        var changes = new List<PathChange>();
        var ids = new HashSet<ObjKey>(h.Earliest.Keys);
        ids.UnionWith(h.CreatedAt.Keys);
        foreach (ObjKey id in ids)
        {
            bool existed = h.ExistedAtCheckpoint(id, out UndoItem st);
            h.LastPost.TryGetValue(id, out UndoItem? post);
            bool gone = removed.Contains(id);
            if (!existed)
            {
                if (h.CreatedAt.ContainsKey(id) && !gone && pathOf.TryGetValue(id, out string? created))
                {
                    bool dir = post is not null && (post.Mode & S_IFMT) == S_IFDIR;
                    changes.Add(new PathChange(ChangeKind.Created, created, null, null, string.Empty, dir));
                }

                continue;
            }

            string before = h.MapBack(PathText.ToText(st.Path), st.Seq);
            bool isDir = (st.Mode & S_IFMT) == S_IFDIR;
            if (gone)
            {
                changes.Add(new PathChange(ChangeKind.Deleted, before, null, null, string.Empty, isDir));
                continue;
            }

            string after = pathOf.TryGetValue(id, out string? p) ? p : h.MapForward(PathText.ToText(st.Path), st.Seq - 1);
            if (after != before && renamed.Contains(id))
            {
                changes.Add(new PathChange(ChangeKind.Renamed, before, after, null, string.Empty, isDir));
            }

            var what = new List<string>();
            bool regular = (st.Mode & S_IFMT) == S_IFREG;
            long bytes = written.GetValueOrDefault(id);
            long sizeNow = post?.Size ?? st.Size;
            bool content = regular && (h.Blocks.ContainsKey(id) || bytes > 0 || sizeNow != st.Size);
            if (content)
            {
                what.Add("content");
            }

            if (post is not null && (post.Mode & 0xFFFF) != (st.Mode & 0xFFFF))
            {
                what.Add("mode");
            }

            if (post is not null && (post.Uid != st.Uid || post.Gid != st.Gid))
            {
                what.Add("owner");
            }

            if (xattrs.Contains(id))
            {
                what.Add("xattrs");
            }

            if (!isDir && post is not null && post.MtimeNs != st.MtimeNs)
            {
                what.Add("times");
            }

            if (content)
            {
                long delta = sizeNow - st.Size;
                string detail = delta > 0
                    ? string.Create(CultureInfo.InvariantCulture, $"+{delta} bytes")
                    : delta < 0 ? string.Create(CultureInfo.InvariantCulture, $"-{-delta} bytes")
                    : string.Create(CultureInfo.InvariantCulture, $"{bytes} bytes written");
                changes.Add(new PathChange(ChangeKind.Modified, after, null, bytes > 0 ? bytes : Math.Abs(delta), detail, false)
                {
                    RestoreWhat = string.Join(", ", what),
                });
            }
            else if (what.Count > 0 && (!isDir || what.Exists(w => w is "mode" or "owner" or "xattrs")))
            {
                what.Remove(isDir ? "times" : string.Empty);
                changes.Add(new PathChange(ChangeKind.Metadata, after, null, null, string.Join(", ", what), isDir)
                {
                    RestoreWhat = string.Join(", ", what),
                });
            }
        }

        foreach ((string path, ObjKey id) in links)
        {
            if (!removed.Contains(id) || h.ExistedAtCheckpoint(id, out _))
            {
                changes.Add(new PathChange(ChangeKind.Created, path, null, null, "hard link", false));
            }
        }

        changes.Sort((a, b) =>
        {
            int c = string.CompareOrdinal(a.Kind == ChangeKind.Modified ? a.Path : a.Path, b.Path);
            return c != 0 ? c : a.Kind.CompareTo(b.Kind);
        });
        return changes;
    }

    private static string Move(string path, string from, string to, bool exchange)
    {
        if (JournalHistory.Under(path, from, out string rest))
        {
            return to + rest;
        }

        if (exchange && JournalHistory.Under(path, to, out rest))
        {
            return from + rest;
        }

        return path;
    }
}
