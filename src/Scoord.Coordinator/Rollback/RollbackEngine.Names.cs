using Scoord.Interceptors;
using Scoord.Journal;
using Scoord.Journal.Undo;
using Scoord.Interceptors.Syscalls;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Rollback;

/// <summary>
/// Names: the operations after the checkpoint are undone in reverse seq order, so that when an
/// operation is undone the tree is as it was right after it ran and the paths it recorded are valid.
/// Each step checks the identity it expects first, which makes a re-run (or a run after a rollback
/// that was killed) a no-op for the steps already done.
/// </summary>
public sealed partial class RollbackEngine
{
    private void ReplayNames()
    {
        for (int i = _history.Ops.Count - 1; i >= 0; i--)
        {
            HistoryOp op = _history.Ops[i];
            switch (op.Class)
            {
                case OpClass.Create:
                    UndoCreate(op.Path, op.CreatedKey, op);
                    break;
                case OpClass.Link:
                    UndoLink(op);
                    break;
                case OpClass.Remove:
                    UndoRemove(op);
                    break;
                case OpClass.Rename:
                    UndoRename(op);
                    break;
            }

            Step();
        }
    }

    private Dictionary<FileId, HashSet<string>>? _namesBefore;

    private void UndoLink(HistoryOp op)
    {
        UndoItem? second = op.Find(UndoKind.PostState, UndoRole.Second);
        ObjKey id = second is { Existed: true } ? op.Key(second) : op.EntryKey;

        UndoCreate(op.Path2, id, op);
    }

    /// <summary>
    /// File times come from the kernel's coarse clock (one tick, up to 10 ms at HZ=100, behind CLOCK_REALTIME),
    /// the intent's time from the fine one: a file created by the syscall of a pending intent can have a ctime
    /// a little before the intent's time. (The intent also recorded the name as absent when it was decoded.)
    /// </summary>
    private const long CoarseClockSlackNs = 20_000_000;

    /// <summary>Removes the name a creation made, if it still names the object created.</summary>
    private void UndoCreate(string path, ObjKey created, HistoryOp op)
    {
        if (Skip(created, path))
        {
            return;
        }

        using SafePath? p = SafePath.Resolve(path, out ResolveStatus status);
        if (p is null)
        {
            if (status != ResolveStatus.ParentMissing)
            {
                Error($"cannot remove {path}: {SafePath.Describe(status)}");
            }

            return;
        }

        if (!p.TryLstat(out Interop.Stat st))
        {
            return; // already gone
        }

        bool ours = created.IsKnown
            ? IdOf(st) == Cur(created)
            : (st.st_ctime_sec * 1_000_000_000) + st.st_ctime_nsec >= op.Entry.TimeNs - CoarseClockSlackNs; // pending: made after the intent
        if (!ours && !_force)
        {
            ConflictNow($"{path} is not the object the journal created");
            return;
        }

        if (Remove(p))
        {
            _result.Removed++;
        }
    }

    private void UndoRemove(HistoryOp op)
    {
        UndoItem? target = op.Find(UndoKind.ObjectState, UndoRole.Target);
        if (target is null || !target.Existed)
        {
            Error($"cannot recreate {op.Path}: the journal holds no state of it (seq {op.Seq})");
            return;
        }

        Recreate(op.Path, target, op);
    }

    /// <summary>Brings back a removed (or replaced) object at <paramref name="path"/> from its recorded state.</summary>
    private void Recreate(string path, UndoItem state, HistoryOp op)
    {
        ObjKey id = op.Key(state);
        if (Skip(id, path))
        {
            return;
        }

        using SafePath? p = SafePath.Resolve(path, out ResolveStatus status);
        if (p is null)
        {
            Error($"cannot recreate {path}: {SafePath.Describe(status)}");
            return;
        }

        if (p.TryLstat(out Interop.Stat st))
        {
            if (IdOf(st) == Cur(id))
            {
                return; // done already (a rollback run before)
            }

            if (!_force)
            {
                ConflictNow($"{path} exists, but the journal removed it after the checkpoint");
                return;
            }

            if (!Remove(p))
            {
                return;
            }
        }

        uint mode = state.Mode;
        if (!IsDir(mode) && state.Nlink > 1 && Relink(p, id, mode & S_IFMT))
        {
            // Another name of the object still exists (any non-directory can be hard-linked, symlinks
            // too: link(2) does not follow them): the same inode, so no identity changes.
            _result.Recreated++;
            return;
        }

        bool ok;
        switch (mode & S_IFMT)
        {
            case S_IFDIR:
                ok = Create(OpCode.Mkdirat, p, mode & 0xFFF, null);
                break;
            case S_IFLNK:
                ok = Create(OpCode.Symlinkat, p, 0, state.Data);
                break;
            case S_IFREG:
                ok = RecreateFile(p, state, op);
                break;
            case S_IFIFO:
            case S_IFSOCK:
                ok = Create(OpCode.Mknodat, p, mode, null);
                break;
            default:
                Error($"cannot recreate {path}: a device node's device number is not in the journal");
                return;
        }

        if (ok && p.TryLstat(out Interop.Stat now))
        {
            _map[id] = IdOf(now);
            _result.Recreated++;
        }
    }

    /// <summary>A hard link from another name of the same object, if the journal knows one that still exists.</summary>
    private bool Relink(SafePath p, ObjKey id, uint type)
    {
        IEnumerable<string> names = _history.Names.TryGetValue(id, out HashSet<string>? after) ? after : [];
        if (id.Gen == 0)
        {
            // Names from before the checkpoint too (`ln a b`, then checkpoint, then `rm b`).
            _namesBefore ??= JournalHistory.NamesBefore(_store.Reader, _history.CheckpointSeq);
            if (_namesBefore.TryGetValue(id.Disk, out HashSet<string>? before))
            {
                names = names.Concat(before);
            }
        }

        foreach (string name in names)
        {
            if (name == p.Full)
            {
                continue;
            }

            using SafePath? src = SafePath.Resolve(name, out _);
            if (src is not null && src.TryLstat(out Interop.Stat st) && IdOf(st) == Cur(id) && (st.st_mode & S_IFMT) == type)
            {
                return Link(src, p);
            }
        }

        return false;
    }

    /// <summary>A new regular file with the content the journal kept (holes stay holes).</summary>
    private bool RecreateFile(SafePath p, UndoItem state, HistoryOp op)
    {
        // No content kept: the tracer skips the copy for a file created in the same epoch, because it
        // did not exist at any checkpoint; undoing its creation, further back in this replay, removes
        // it again. It comes back as a hole of the right size meanwhile.

        int fd = CreateFile(p, state.Mode & 0xFFF);
        if (fd < 0)
        {
            return false;
        }

        try
        {
            var actions = new List<ContentAction>();
            long end = 0;
            foreach (UndoItem c in op.Items)
            {
                if (c.Kind == UndoKind.Content && c.Dev == state.Dev && c.Ino == state.Ino && c.Data.Length > 0)
                {
                    actions.Add(new ContentAction(ContentOp.Write, c.Offset, c.Data.Length, c.Data, 0));
                    end = Math.Max(end, c.Offset + c.Data.Length);
                }
            }

            if (end != state.Size)
            {
                actions.Add(new ContentAction(ContentOp.Truncate, 0, state.Size, null, 0));
            }

            return ApplyContent(fd, p, actions);
        }
        finally
        {
            close(fd);
        }
    }

    private void UndoRename(HistoryOp op)
    {
        using SafePath? oldP = SafePath.Resolve(op.Path, out ResolveStatus s1);
        using SafePath? newP = SafePath.Resolve(op.Path2, out ResolveStatus s2);
        if (oldP is null || newP is null)
        {
            Error($"cannot rename {op.Path2} back to {op.Path}: {SafePath.Describe(oldP is null ? s1 : s2)}");
            return;
        }

        FileId atOld = Lstat(oldP), atNew = Lstat(newP);
        if (op.IsExchange)
        {
            UndoItem? postOld = op.Find(UndoKind.PostState, UndoRole.Object);
            ObjKey expectOld = postOld is { Existed: true } ? op.Key(postOld) : default;
            bool swapped = expectOld.IsKnown ? atOld == Cur(expectOld) : atNew == Cur(op.MovedKey);
            if (swapped && !Skip(atOld, op.Path) && !Skip(atNew, op.Path2) && Rename(newP, oldP, RENAME_EXCHANGE))
            {
                _result.Renamed++;
            }

            return;
        }

        ObjKey moved = op.MovedKey;
        if (Skip(moved, op.Path2))
        {
            return;
        }

        if (moved.IsKnown && atNew.IsKnown && atNew == Cur(moved))
        {
            if (atOld.IsKnown)
            {
                if (!_force)
                {
                    ConflictNow($"{op.Path} exists, so {op.Path2} cannot be renamed back to it");
                    return;
                }

                if (!Remove(oldP))
                {
                    return;
                }
            }

            if (!Rename(newP, oldP, RENAME_NOREPLACE))
            {
                return;
            }

            _result.Renamed++;
        }
        else if (!(moved.IsKnown && atOld == Cur(moved)))
        {
            if (op.Pending)
            {
                return; // it may never have happened
            }

            if (!atNew.IsKnown && !atOld.IsKnown)
            {
                Error($"cannot rename {op.Path2} back to {op.Path}: neither exists");
            }
            else if (!_force)
            {
                ConflictNow($"{op.Path2} is not the object the journal renamed");
            }

            return;
        }

        if (op.Find(UndoKind.ObjectState, UndoRole.Target) is { Existed: true } replaced)
        {
            Recreate(op.Path2, replaced, op);
        }
    }
}
